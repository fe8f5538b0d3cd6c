// Programmatic dependent launch (Hopper and later): a kernel launched through launch_pdl may be
// scheduled while the previous kernel in the stream is still finishing. It must call pdl_wait()
// before touching anything that kernel writes or reads; work on inputs nobody writes (weights)
// can go before it, so a decode step's chain of short kernels overlaps its launch gaps and DRAM
// latency ramps. Kernels call pdl_launch_dependents() early: the next kernel is then launched once
// every block of this one is running. TURBINE_CUDA_PDL=0 turns it off (plain launches).
#pragma once
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "backend/cuda/cuda_check.h"

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

// Whether launches on the current device use it: compute capability 9.0+ and not turned off.
inline bool pdl_enabled() {
  static const bool allowed = [] {
    const char* env = std::getenv("TURBINE_CUDA_PDL");
    return !(env && std::strcmp(env, "0") == 0);
  }();
  if (!allowed) return false;
  int device = 0, major = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess)
    return false;
  return major >= 9;
}

template <typename... Params, typename... Args>
void launch_pdl(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = pdl_enabled() ? 1 : 0;
  TURBINE_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

}  // namespace turbine::cuda
