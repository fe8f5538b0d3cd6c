// What a device's architecture lets the backend launch, asked once when a kernel family is prepared.
#pragma once
#include <cuda_runtime.h>

namespace turbine::cuda {

// Whether `device` runs the kernels built for sm_90a (wgmma, TMA): compute capability 9.0 exactly,
// since an arch-specific build runs on no other. A failed query counts as no, and is cleared.
inline bool runs_sm90a(int device) {
  int major = 0, minor = 0;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return major == 9 && minor == 0;
}

}  // namespace turbine::cuda
