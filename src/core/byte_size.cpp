#include "core/byte_size.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include <unistd.h>

#include <fmt/format.h>

#include "core/error.h"

namespace turbine {

size_t parse_byte_size(const std::string& text, const std::string& what) {
  static const std::regex pattern(R"(\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B)?\s*)", std::regex::icase);
  const std::string prefix = what.empty() ? "" : what + ": ";
  std::smatch m;
  if (!std::regex_match(text, m, pattern)) fail("{}'{}' is not a size (examples: 4GiB, 512MiB, 2GB)", prefix, text);
  const double value = std::stod(m[1].str());
  std::string unit = m[2].str();
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::toupper(c); });
  double scale = 1;
  if (!unit.empty() && unit != "B") {
    const double base = unit.size() == 3 ? 1024.0 : 1000.0;  // KiB.. binary, KB.. decimal
    const size_t power = std::string("KMGT").find(unit[0]) + 1;
    for (size_t i = 0; i < power; ++i) scale *= base;
  }
  const double bytes = value * scale;
  if (bytes < 1) fail("{}'{}' is zero", prefix, text);
  // 2^64 as a double: a size_t cannot hold it (the conversion would be undefined).
  if (bytes >= 18446744073709551616.0) fail("{}'{}' is too large", prefix, text);
  return size_t(bytes);
}

std::string format_byte_size(size_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = double(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) value /= 1024, ++unit;
  if (unit == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.{}f} {}", value, value < 10 ? 1 : 0, units[unit]);
}

size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? size_t(pages) * size_t(page) : 0;
}

}  // namespace turbine
