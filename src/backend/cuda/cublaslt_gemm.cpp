#include "backend/cuda/cublaslt_gemm.h"

#include "backend/cuda/cuda_check.h"

namespace turbine::cuda {
namespace {

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::F32: return CUDA_R_32F;
    case DType::F16: return CUDA_R_16F;
    case DType::BF16: return CUDA_R_16BF;
    default: fail("cuda linear: unsupported dtype {}", dtype_name(t));
  }
}

}  // namespace

CublasLtGemm::CublasLtGemm() {
  TURBINE_CUBLAS_CHECK(cublasLtCreate(&handle_));
  TURBINE_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
}

CublasLtGemm::~CublasLtGemm() {
  for (auto& [key, plan] : plans_) {
    cublasLtMatrixLayoutDestroy(plan.a);
    cublasLtMatrixLayoutDestroy(plan.b);
    cublasLtMatrixLayoutDestroy(plan.c);
    cublasLtMatmulDescDestroy(plan.op);
  }
  cudaFree(workspace_);
  cublasLtDestroy(handle_);
}

// Row-major out[T, N] is column-major out^T [N, T] = W (col-major [K, N], transposed) x X^T (col-major [K, T]).
const CublasLtGemm::Plan& CublasLtGemm::plan_for(const Key& key) {
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  const auto [tokens, n, k, in, out] = key;
  const cudaDataType_t in_type = cuda_type(DType(in)), out_type = cuda_type(DType(out));
  Plan plan;
  TURBINE_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t trans = CUBLAS_OP_T, no_trans = CUBLAS_OP_N;
  TURBINE_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof(trans)));
  TURBINE_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSB, &no_trans, sizeof(no_trans)));
  TURBINE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.a, in_type, k, n, k));
  TURBINE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.b, in_type, k, tokens, k));
  TURBINE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.c, out_type, n, tokens, n));

  cublasLtMatmulPreference_t pref;
  TURBINE_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  TURBINE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                            &workspace_bytes_, sizeof(workspace_bytes_)));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status =
      cublasLtMatmulAlgoGetHeuristic(handle_, plan.op, plan.a, plan.b, plan.c, plan.c, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (status != CUBLAS_STATUS_SUCCESS || found == 0)
    fail("cuda linear: cuBLASLt has no algorithm for [{}x{}] x [{}x{}]^T ({} -> {})", tokens, k, n, k,
         dtype_name(DType(in)), dtype_name(DType(out)));
  plan.algo = result.algo;
  return plans_.emplace(key, plan).first->second;
}

void CublasLtGemm::matmul(const void* x, const void* w, DType in_dtype, void* out, DType out_dtype, int tokens,
                          int n, int k, cudaStream_t stream) {
  if (tokens == 0 || n == 0) return;
  const Plan& plan = plan_for({tokens, n, k, int(in_dtype), int(out_dtype)});
  const float alpha = 1.0f, beta = 0.0f;
  TURBINE_CUBLAS_CHECK(cublasLtMatmul(handle_, plan.op, &alpha, w, plan.a, x, plan.b, &beta, out, plan.c, out,
                                      plan.c, &plan.algo, workspace_, workspace_bytes_, stream));
}

}  // namespace turbine::cuda
