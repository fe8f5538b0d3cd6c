#include "backend/backend.h"

namespace turbine {

std::unique_ptr<Backend> make_backend(const BackendOptions& options) {
  fail("no backend for device '{}' yet", options.device);
}

bool cuda_available() { return false; }

}  // namespace turbine
