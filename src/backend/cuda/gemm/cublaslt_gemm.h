// out[T, N] = x[T, K] @ w[N, K]^T through cuBLASLt: fp16/bf16 inputs, fp32 accumulation, output
// in fp16/bf16/fp32. Algorithm choices are cached per shape.
//
// For decode-sized shapes (at most tune_max_tokens tokens) the heuristic's first choice is often not
// the fastest. On an H100 at 64 tokens, another of its 8 candidates reads the 22016 x 4096 gate_up
// weight 9% faster, and another the lm_head 7% faster.
//
// So such a shape's first call outside a graph capture times each candidate on its own operands
// and keeps the fastest; of candidates within 2% of each other, the heuristic's earlier one
// (candidate_choice.h). L2 is flushed before each run, as in a decode step, where the weights
// stream from HBM. This costs a few milliseconds once per shape.
//
// Decode steps have a bounded set of shapes. The engine runs each graph bucket once op by op
// before recording it, so the recorded steps use the tuned choice. Prefill shapes (one per prompt
// length) take the heuristic's choice.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <map>
#include <tuple>
#include <vector>

#include "core/dtype.h"

namespace turbine::cuda {

class CublasLtGemm {
 public:
  static constexpr int kDefaultTuneMaxTokens = 64;
  explicit CublasLtGemm(int tune_max_tokens = kDefaultTuneMaxTokens);
  ~CublasLtGemm();
  CublasLtGemm(const CublasLtGemm&) = delete;
  CublasLtGemm& operator=(const CublasLtGemm&) = delete;

  void matmul(const void* x, const void* w, DType in_dtype, void* out, DType out_dtype, int tokens, int n, int k,
              cudaStream_t stream);

 private:
  struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    std::vector<cublasLtMatmulAlgo_t> candidates;  // the heuristic's, best guess first
    int chosen = 0;
    bool tuned = false;
  };
  using Key = std::tuple<int, int, int, int, int>;  // tokens, n, k, in, out
  Plan& plan_for(const Key& key);
  cublasStatus_t run(const Plan& plan, int algo, const void* x, const void* w, void* out, cudaStream_t stream);
  // Times the plan's candidates on these operands and keeps the fastest.
  void tune(Plan& plan, const void* x, const void* w, void* out, cudaStream_t stream);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = size_t(32) << 20;
  int tune_max_tokens_;
  std::map<Key, Plan> plans_;
};

}  // namespace turbine::cuda
