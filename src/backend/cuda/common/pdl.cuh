// Programmatic dependent launch (Hopper and later): a kernel launched through launch_pdl may be
// scheduled while the previous kernel in the stream is still finishing. It must call pdl_wait()
// before touching anything that kernel writes or reads; work on inputs nobody writes (weights)
// can go before it, so a decode step's chain of short kernels overlaps its launch gaps and DRAM
// latency ramps. Kernels call pdl_launch_dependents() early: the next kernel is then launched once
// every block of this one is running. KernelLaunch::pdl (from CudaOptions::pdl, `--cuda-pdl`) says
// whether launches use it; off, they are plain launches.
#pragma once
#include <cuda_runtime.h>

#include <utility>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/kernel_launch.h"

namespace turbine::cuda {

__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// 16 bytes that the previous kernel may have written, read after pdl_wait(). __ldg's non-coherent
// load counts as invariant, so the compiler may hoist it above the wait (it did in the 4-bit GEMV,
// which then read activations before the kernel making them had finished); this volatile load stays
// after the wait, and still caches in L1. Bytes: an offset from ptr in the instruction itself, so that
// loads a few bytes apart share one address.
template <int Bytes = 0>
__device__ __forceinline__ uint4 load_after_wait(const void* ptr) {
  uint4 r;
  asm volatile("ld.global.v4.u32 {%0, %1, %2, %3}, [%4+%5];"
               : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
               : "l"(ptr), "n"(Bytes));
  return r;
}

template <typename... Params, typename... Args>
void launch_pdl(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, const KernelLaunch& launch,
                Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = launch.stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = launch.pdl ? 1 : 0;
  TURBINE_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

}  // namespace turbine::cuda
