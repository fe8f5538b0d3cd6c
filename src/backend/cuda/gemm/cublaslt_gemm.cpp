#include "backend/cuda/gemm/cublaslt_gemm.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/gemm/candidate_choice.h"

namespace turbine::cuda {
namespace {

constexpr int kMaxCandidates = 8;
// Rounds over all candidates, each timing every candidate once; a candidate's median counts. Rounds
// rather than runs back to back, so that a drift of the clock or of the memory affects all alike.
constexpr int kTuneRounds = 5;
// Candidates within this much of the fastest count as tied; the heuristic's order breaks the tie.
constexpr float kTuneTolerance = 0.02f;

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::F32: return CUDA_R_32F;
    case DType::F16: return CUDA_R_16F;
    case DType::BF16: return CUDA_R_16BF;
    default: fail("cuda linear: unsupported dtype {}", dtype_name(t));
  }
}

bool capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  return cudaStreamIsCapturing(stream, &status) != cudaSuccess || status != cudaStreamCaptureStatusNone;
}

// Device memory and events for one tuning, released however it ends.
struct TuneScratch {
  void* flush = nullptr;
  size_t flush_bytes = 0;
  cudaEvent_t start = nullptr, stop = nullptr;
  ~TuneScratch() {
    if (flush) cudaFree(flush);
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
  }
};

}  // namespace

CublasLtGemm::CublasLtGemm(int tune_max_tokens) : tune_max_tokens_(tune_max_tokens) {
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
CublasLtGemm::Plan& CublasLtGemm::plan_for(const Key& key) {
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  const auto [tokens, n, k, in, out] = key;
  const cudaDataType_t in_type = cuda_type(DType(in)), out_type = cuda_type(DType(out));
  Plan plan;
  TURBINE_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t trans = CUBLAS_OP_T, no_trans = CUBLAS_OP_N;
  TURBINE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof(trans)));
  TURBINE_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSB, &no_trans, sizeof(no_trans)));
  TURBINE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.a, in_type, k, n, k));
  TURBINE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.b, in_type, k, tokens, k));
  TURBINE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.c, out_type, n, tokens, n));

  cublasLtMatmulPreference_t pref;
  TURBINE_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  TURBINE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                            &workspace_bytes_, sizeof(workspace_bytes_)));
  const int wanted = tokens <= tune_max_tokens_ ? kMaxCandidates : 1;
  cublasLtMatmulHeuristicResult_t results[kMaxCandidates]{};
  int found = 0;
  const cublasStatus_t status =
      cublasLtMatmulAlgoGetHeuristic(handle_, plan.op, plan.a, plan.b, plan.c, plan.c, pref, wanted, results, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (status != CUBLAS_STATUS_SUCCESS || found == 0)
    fail("cuda linear: cuBLASLt has no algorithm for [{}x{}] x [{}x{}]^T ({} -> {})", tokens, k, n, k,
         dtype_name(DType(in)), dtype_name(DType(out)));
  for (int i = 0; i < found; ++i) plan.candidates.push_back(results[i].algo);
  plan.tuned = found == 1;
  return plans_.emplace(key, std::move(plan)).first->second;
}

cublasStatus_t CublasLtGemm::run(const Plan& plan, int algo, const void* x, const void* w, void* out,
                                 cudaStream_t stream) {
  const float alpha = 1.0f, beta = 0.0f;
  return cublasLtMatmul(handle_, plan.op, &alpha, w, plan.a, x, plan.b, &beta, out, plan.c, out, plan.c,
                        &plan.candidates[size_t(algo)], workspace_, workspace_bytes_, stream);
}

void CublasLtGemm::tune(Plan& plan, const void* x, const void* w, void* out, cudaStream_t stream) {
  plan.tuned = true;
  TuneScratch s;
  int device = 0, l2_bytes = 0;
  TURBINE_CUDA_CHECK(cudaGetDevice(&device));
  TURBINE_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device));
  s.flush_bytes = size_t(2) * size_t(std::max(l2_bytes, 1 << 20));
  // Without room for the flush buffer the heuristic's choice stands.
  if (cudaMalloc(&s.flush, s.flush_bytes) != cudaSuccess) {
    cudaGetLastError();
    s.flush = nullptr;
    return;
  }
  TURBINE_CUDA_CHECK(cudaEventCreate(&s.start));
  TURBINE_CUDA_CHECK(cudaEventCreate(&s.stop));
  const int count = int(plan.candidates.size());
  std::vector<std::vector<float>> times(static_cast<size_t>(count));
  for (int round = 0; round < kTuneRounds; ++round)
    for (int c = 0; c < count; ++c) {
      TURBINE_CUDA_CHECK(cudaMemsetAsync(s.flush, round, s.flush_bytes, stream));
      TURBINE_CUDA_CHECK(cudaEventRecord(s.start, stream));
      const cublasStatus_t status = run(plan, c, x, w, out, stream);
      TURBINE_CUDA_CHECK(cudaEventRecord(s.stop, stream));
      TURBINE_CUDA_CHECK(cudaEventSynchronize(s.stop));
      float ms = std::numeric_limits<float>::infinity();  // a candidate that cannot run is never chosen
      if (status == CUBLAS_STATUS_SUCCESS) TURBINE_CUDA_CHECK(cudaEventElapsedTime(&ms, s.start, s.stop));
      times[size_t(c)].push_back(ms);
    }
  std::vector<float> medians;
  for (auto& t : times) {
    std::nth_element(t.begin(), t.begin() + kTuneRounds / 2, t.end());
    medians.push_back(t[kTuneRounds / 2]);
  }
  plan.chosen = choose_candidate(medians, kTuneTolerance);
}

void CublasLtGemm::matmul(const void* x, const void* w, DType in_dtype, void* out, DType out_dtype, int tokens, int n,
                          int k, cudaStream_t stream) {
  if (tokens == 0 || n == 0) return;
  Plan& plan = plan_for({tokens, n, k, int(in_dtype), int(out_dtype)});
  if (!plan.tuned && !capturing(stream)) tune(plan, x, w, out, stream);
  TURBINE_CUBLAS_CHECK(run(plan, plan.chosen, x, w, out, stream));
}

}  // namespace turbine::cuda
