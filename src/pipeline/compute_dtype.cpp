#include "pipeline/compute_dtype.h"

#include "core/error.h"

namespace turbine {

DType resolve_compute_dtype(const std::string& text, const std::string& device, const std::string& name) {
  if (text.empty() || text == "auto") return DType::F32;
  DType dtype;
  try {
    dtype = parse_dtype(text);
  } catch (const Error&) {
    fail("{}: expected auto, float16, bfloat16 or float32, got '{}'", name, text);
  }
  if (device == "cpu" && dtype != DType::F32)
    fail("{} {}: the cpu backend computes in float32 (give auto or float32)", name, text);
  if (device != "cpu" && dtype == DType::F32)
    fail("{} {}: the cuda backend computes in float16 or bfloat16 (auto: the checkpoint's)", name, text);
  return dtype;
}

}  // namespace turbine
