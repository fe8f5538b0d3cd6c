// Where a launcher puts its kernel: the stream, and whether the launch may overlap the previous
// kernel on that stream (programmatic dependent launch, pdl.cuh). The backend fills it once from
// CudaOptions::pdl and the device's compute capability, so no launch queries the device.
#pragma once
#include <cuda_runtime.h>

namespace turbine::cuda {

struct KernelLaunch {
  cudaStream_t stream = nullptr;
  bool pdl = false;  // only true on compute capability 9.0+ (the launch attribute needs it)
};

}  // namespace turbine::cuda
