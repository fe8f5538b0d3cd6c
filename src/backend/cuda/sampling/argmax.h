// Launcher of argmax.cu: out[r] = index of the largest of logits[r, 0..cols) (fp32), lowest index
// on ties, NaN skipped (0 for a row of NaN).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace turbine::cuda {

void launch_argmax_rows(const float* logits, int rows, int cols, int32_t* out, cudaStream_t stream);

}  // namespace turbine::cuda
