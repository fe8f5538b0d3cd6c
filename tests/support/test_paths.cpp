#include "support/test_paths.h"

#include <cstdlib>

namespace turbine::test {

// TURBINE_SOURCE_DIR overrides the compiled-in path (test binaries carried to another machine).
std::filesystem::path source_dir() {
  if (const char* env = std::getenv("TURBINE_SOURCE_DIR"); env && *env) return env;
  return TURBINE_SOURCE_DIR;
}

std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("TURBINE_SHARED"); env && *env) return env;
  return TURBINE_DEFAULT_SHARED;
}

std::filesystem::path turbine_binary() { return TURBINE_BINARY; }

std::filesystem::path default_model_dir() { return source_dir() / "models" / "kjv-llama"; }

}  // namespace turbine::test
