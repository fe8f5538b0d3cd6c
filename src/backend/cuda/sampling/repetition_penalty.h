// Launcher of repetition_penalty.cu: for i < n, x = logits[pairs[i] * vocab + pairs[n + i]]
// (row, id) becomes x / p or x * p (x > 0 or not), p = the float whose bits are pairs[2n + i].
// Pairs are distinct.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace turbine::cuda {

void launch_repetition_penalty(float* logits, int64_t vocab, const int32_t* pairs, int n, cudaStream_t stream);

}  // namespace turbine::cuda
