#include "backend/kv_format.h"

#include "core/error.h"

namespace turbine {

std::string_view kv_format_name(KvFormat f) {
  switch (f) {
    case KvFormat::Dense: return "none";
    case KvFormat::Int8: return "int8";
    case KvFormat::Int4: return "int4";
    case KvFormat::Fp8: return "fp8";
  }
  return "?";
}

KvFormat parse_kv_format(std::string_view text, std::string_view flag) {
  for (KvFormat f : {KvFormat::Dense, KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8})
    if (text == kv_format_name(f)) return f;
  fail("{}{}expected none, int8, int4 or fp8, got '{}'", flag, flag.empty() ? "" : ": ", text);
}

}  // namespace turbine
