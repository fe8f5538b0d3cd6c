// Picks the backend named by BackendOptions::device.
#include <charconv>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"

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
    fail("unknown device '{}' (expected cpu, cuda or cuda:N)", device);
  return index;
}

}  // namespace

std::unique_ptr<Backend> make_backend(const BackendOptions& options) {
  const std::string& d = options.device;
  if (d == "cpu") return std::make_unique<CpuBackend>(options);
  const int index = cuda_index(d);
  if (index < 0) fail("unknown device '{}' (expected cpu, cuda or cuda:N)", d);
#ifdef TURBINE_WITH_CUDA
  if (!cuda_available()) fail("--device {}: no CUDA GPU is available on this machine", d);
  return std::make_unique<cuda::CudaBackend>(index, options.dtype, options.cuda);
#else
  fail("this build has no CUDA backend (--device {})", d);
#endif
}

bool cuda_available() { return cuda_device_count() > 0; }

int cuda_device_count() {
#ifdef TURBINE_WITH_CUDA
  int count = 0;
  // Without a driver this returns an error code and prints nothing; any error means "no GPU".
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
#else
  return 0;
#endif
}

}  // namespace turbine
