// Every CUDA / cuBLASLt call goes through these: a failure throws turbine::Error naming the call
// site and the driver's message, so a bad launch never passes silently.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include "core/error.h"

namespace turbine::cuda {

inline void check_cuda(cudaError_t status, const char* what, const char* file, int line) {
  if (status != cudaSuccess) fail("CUDA error at {}:{}: {} ({})", file, line, cudaGetErrorString(status), what);
}

inline void check_cublas(cublasStatus_t status, const char* what, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) fail("cuBLASLt error at {}:{}: status {} ({})", file, line, int(status), what);
}

}  // namespace turbine::cuda

#define TURBINE_CUDA_CHECK(call) ::turbine::cuda::check_cuda((call), #call, __FILE__, __LINE__)
#define TURBINE_CUBLAS_CHECK(call) ::turbine::cuda::check_cublas((call), #call, __FILE__, __LINE__)
// After a kernel launch: catches bad configurations (the kernel's own faults surface at the next sync).
#define TURBINE_CUDA_LAUNCH_CHECK() TURBINE_CUDA_CHECK(cudaGetLastError())
