// Launcher of top_candidates.cu: for each i < num_rows, row rows[i] of logits [*, vocab]: the k
// largest (1 <= k <= kMaxCandidatesPow2, k <= vocab) as out_ids/out_values [num_rows, k] by value
// descending (NaN lowest, ties by lower id), the largest non-NaN value out_max[i] and
// out_sum[i] = sum over non-NaN x of exp((x - out_max[i]) / temperatures[i]).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace turbine::cuda {

constexpr int kMaxCandidatesPow2 = 1024;
void launch_top_candidates(const float* logits, int vocab, const int32_t* rows, const float* temperatures, int num_rows,
                           int k, int32_t* out_ids, float* out_values, float* out_max, float* out_sum,
                           cudaStream_t stream);

}  // namespace turbine::cuda
