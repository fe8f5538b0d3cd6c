// HF's repetition penalty applied to the device logits: one thread per (row, id) pair, so a
// penalised row can still be sampled from its candidates without leaving the GPU.
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/sampling/repetition_penalty.h"

namespace turbine::cuda {
namespace {

__global__ void repetition_penalty_kernel(float* logits, int64_t vocab, const int32_t* pairs, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float p = __int_as_float(pairs[2 * n + i]);
  float& x = logits[int64_t(pairs[i]) * vocab + pairs[n + i]];
  x = x > 0.0f ? x / p : x * p;  // IEEE division (no fast math): the host's float result exactly
}

}  // namespace

void launch_repetition_penalty(float* logits, int64_t vocab, const int32_t* pairs, int n, cudaStream_t stream) {
  if (n == 0) return;
  repetition_penalty_kernel<<<(n + 255) / 256, 256, 0, stream>>>(logits, vocab, pairs, n);
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace turbine::cuda
