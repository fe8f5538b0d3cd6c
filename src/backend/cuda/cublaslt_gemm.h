// out[T, N] = x[T, K] @ w[N, K]^T through cuBLASLt: fp16/bf16 inputs, fp32 accumulation, output
// in fp16/bf16/fp32. Algorithm choices are cached per shape.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <map>
#include <tuple>

#include "core/dtype.h"

namespace turbine::cuda {

class CublasLtGemm {
 public:
  CublasLtGemm();
  ~CublasLtGemm();
  CublasLtGemm(const CublasLtGemm&) = delete;
  CublasLtGemm& operator=(const CublasLtGemm&) = delete;

  void matmul(const void* x, const void* w, DType in_dtype, void* out, DType out_dtype, int tokens, int n, int k,
              cudaStream_t stream);

 private:
  struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  using Key = std::tuple<int, int, int, int, int>;  // tokens, n, k, in, out
  const Plan& plan_for(const Key& key);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = size_t(32) << 20;
  std::map<Key, Plan> plans_;
};

}  // namespace turbine::cuda
