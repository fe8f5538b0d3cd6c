#include "engine/engine_options.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "core/error.h"

namespace turbine {

namespace {
// Splits "6GiB" into 6 and "GiB"; false when the number part is missing or malformed.
bool split_number(const std::string& text, double& value, std::string& unit) {
  const char* begin = text.c_str();
  char* end = nullptr;
  value = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(value)) return false;
  unit = std::string(end);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(0, 1);
  return true;
}

bool unit_scale(const std::string& unit, double& scale) {
  static const struct { const char* name; double scale; } units[] = {
      {"B", 1.0},           {"KB", 1e3},          {"MB", 1e6},          {"GB", 1e9},          {"TB", 1e12},
      {"KiB", 1024.0},      {"MiB", 1048576.0},   {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
      {"K", 1024.0},        {"M", 1048576.0},     {"G", 1073741824.0}};
  for (const auto& u : units)
    if (unit == u.name) {
      scale = u.scale;
      return true;
    }
  return false;
}
}  // namespace

size_t parse_byte_size(const std::string& text, const std::string& flag) {
  double value = 0, scale = 0;
  std::string unit;
  if (!split_number(text, value, unit) || unit.empty() || !unit_scale(unit, scale) || value <= 0)
    fail("{}: expected a size such as 4GiB or 512MiB, got '{}'", flag, text);
  return size_t(value * scale);
}

CacheSize parse_cache_size(const std::string& text, const std::string& flag) {
  double value = 0;
  std::string unit;
  if (!split_number(text, value, unit))
    fail("{}: expected a fraction in (0, 1] or a size such as 6GiB, got '{}'", flag, text);
  CacheSize size;
  if (unit.empty()) {
    if (!(value > 0 && value <= 1)) fail("{}: a fraction must be in (0, 1], got '{}'", flag, text);
    size.fraction = value;
  } else {
    size.bytes = parse_byte_size(text, flag);
  }
  return size;
}

void validate(const EngineOptions& o) {
  if (o.max_batch_size <= 0) fail("--max-batch-size must be positive, got {}", o.max_batch_size);
  if (o.cache_block_seq_len <= 0) fail("--cache-block-seq-len must be positive, got {}", o.cache_block_seq_len);
  if (o.max_prefill_token_num <= 0) fail("--max-prefill-token-num must be positive, got {}", o.max_prefill_token_num);
  if (o.session_len < 0) fail("--session-len must be positive, got {}", o.session_len);
  if (o.cache_max_entry_count.bytes == 0 &&
      !(o.cache_max_entry_count.fraction > 0 && o.cache_max_entry_count.fraction <= 1))
    fail("--cache-max-entry-count: a fraction must be in (0, 1], got {}", o.cache_max_entry_count.fraction);
}

}  // namespace turbine
