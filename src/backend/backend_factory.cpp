// Picks the backend named by BackendOptions::device.
#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"

namespace turbine {

std::unique_ptr<Backend> make_backend(const BackendOptions& options) {
  const std::string& d = options.device;
  if (d == "cpu") return std::make_unique<CpuBackend>(options);
  if (d == "cuda" || d.rfind("cuda:", 0) == 0) fail("this build has no CUDA backend (--device {})", d);
  fail("unknown device '{}' (expected cpu, cuda or cuda:N)", d);
}

bool cuda_available() { return false; }

}  // namespace turbine
