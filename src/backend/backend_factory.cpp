#include <charconv>

#include "backend/backend.h"

#ifdef TURBINE_WITH_CUDA
#include <cuda_runtime.h>

#include "backend/cuda/cuda_backend.h"
#endif

namespace turbine {
namespace {

// "cuda" -> 0, "cuda:N" -> N; -1 when the name is not a cuda device.
int cuda_index(const std::string& device) {
  if (device == "cuda") return 0;
  if (device.rfind("cuda:", 0) != 0) return -1;
  const char* begin = device.data() + 5;
  const char* end = device.data() + device.size();
  int index = -1;
  auto [ptr, ec] = std::from_chars(begin, end, index);
  if (ec != std::errc() || ptr != end || begin == end || index < 0)
    fail("--device: '{}' is not a device (expected cpu, cuda or cuda:N)", device);
  return index;
}

}  // namespace

std::unique_ptr<Backend> make_backend(const BackendOptions& options) {
  const int index = cuda_index(options.device);
  if (index >= 0) {
#ifdef TURBINE_WITH_CUDA
    if (!cuda_available()) fail("--device: {} requested but no CUDA GPU is available", options.device);
    return std::make_unique<cuda::CudaBackend>(index, options.dtype);
#else
    fail("--device: {} requested but this build has no CUDA backend", options.device);
#endif
  }
  fail("no backend for device '{}' yet", options.device);
}

bool cuda_available() {
#ifdef TURBINE_WITH_CUDA
  int count = 0;
  // Without a driver this returns an error code (no output); treat any error as "no GPU".
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return count > 0;
#else
  return false;
#endif
}

}  // namespace turbine
