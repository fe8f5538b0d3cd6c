// Launcher of gather_rows.cu: dst[r] = src[rows[r]] for byte rows; rows outside [0, src_rows) give
// zeros. Serves both the embedding lookup and the logits-row gather.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace turbine::cuda {

void launch_gather_rows(const void* src, const int32_t* rows, void* dst, int num_rows, size_t row_bytes, int src_rows,
                        cudaStream_t stream);

}  // namespace turbine::cuda
