#include "backend/cpu_options.h"

#include "core/error.h"

namespace turbine {

CpuIsa parse_cpu_isa(const std::string& text, const std::string& flag) {
  if (text == "auto") return CpuIsa::Auto;
  if (text == "avx512") return CpuIsa::Avx512;
  if (text == "avx2") return CpuIsa::Avx2;
  if (text == "scalar") return CpuIsa::Scalar;
  fail("{}: expected auto, avx512, avx2 or scalar, got '{}'", flag, text);
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Auto: return "auto";
    case CpuIsa::Scalar: return "scalar";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Avx512: return "avx512";
  }
  return "?";
}

CpuWeights parse_cpu_weights(const std::string& text, const std::string& flag) {
  if (text == "checkpoint") return CpuWeights::Checkpoint;
  if (text == "f32" || text == "fp32" || text == "float32") return CpuWeights::F32;
  fail("{}: expected checkpoint or f32, got '{}'", flag, text);
}

}  // namespace turbine
