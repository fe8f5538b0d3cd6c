// A test-only producer for the PDL tests (cuda_pdl_test.cpp): a kernel that lets the next kernel in
// the stream start at once (griddepcontrol.launch_dependents) and copies its bytes only after waiting
// `delay_us` microseconds, so a consumer that reads before its pdl_wait() sees what was there before.
#include <cuda_runtime.h>

#include <cstdint>

#include "late_writer.h"

namespace turbine::test {
namespace {

__global__ void late_copy_kernel(const uint4* src, uint4* dst, size_t units, unsigned delay_us) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
  if (threadIdx.x == 0) {
    uint64_t start, now;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
    do {
      __nanosleep(1000);
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    } while (now - start < uint64_t(delay_us) * 1000);
  }
  __syncthreads();
  for (size_t i = threadIdx.x; i < units; i += blockDim.x) dst[i] = src[i];
}

}  // namespace

void launch_late_copy(cudaStream_t stream, const void* src, void* dst, size_t bytes, unsigned delay_us) {
  late_copy_kernel<<<1, 256, 0, stream>>>(static_cast<const uint4*>(src), static_cast<uint4*>(dst), bytes / 16,
                                          delay_us);
}

}  // namespace turbine::test
