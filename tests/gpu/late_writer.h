// The PDL tests' late producer (late_writer.cu).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace turbine::test {

// Copies `bytes` (a multiple of 16, 16-byte aligned) from src to dst on `stream`, `delay_us`
// microseconds after the kernel starts; the kernel lets the next one in the stream start at once.
void launch_late_copy(cudaStream_t stream, const void* src, void* dst, size_t bytes, unsigned delay_us);

}  // namespace turbine::test
