#include "cli/option_checks.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>

#include <fmt/format.h>

namespace turbine::cli {

namespace {

// The text as a finite real number, or nothing (not a number, nan, inf, trailing junk).
std::optional<double> finite_real(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

// A bound as a reader writes it: 0, 1, 0.5, 1e+06.
std::string show(double v) { return fmt::format("{:g}", v); }

std::string real_check(const std::string& text, double lo, double hi, bool lo_open, const std::string& rule) {
  const auto v = finite_real(text);
  if (!v || (lo_open ? *v <= lo : *v < lo) || *v > hi) return fmt::format("must be {}, got '{}'", rule, text);
  return "";
}

}  // namespace

CLI::Validator real_in(double lo, double hi) {
  const std::string rule = fmt::format("in [{}, {}]", show(lo), show(hi));
  return CLI::Validator([=](std::string& text) { return real_check(text, lo, hi, false, rule); }, rule);
}

CLI::Validator real_at_least(double lo) {
  const std::string rule = fmt::format("a number >= {}", show(lo));
  return CLI::Validator([=](std::string& text) { return real_check(text, lo, HUGE_VAL, false, rule); },
                        ">= " + show(lo));
}

CLI::Validator real_positive() {
  const std::string rule = "a number above 0";
  return CLI::Validator([=](std::string& text) { return real_check(text, 0.0, HUGE_VAL, true, rule); }, "> 0");
}

CLI::Validator int_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const std::string rule = fmt::format("a whole number from {} to {}", lo, hi);
        size_t start = text.size() > 1 && (text[0] == '-' || text[0] == '+') ? 1 : 0;
        if (text.size() == start || text.find_first_not_of("0123456789", start) != std::string::npos)
          return fmt::format("must be {}, got '{}'", rule, text);
        errno = 0;
        const long long v = std::strtoll(text.c_str(), nullptr, 10);
        if (errno == ERANGE || v < lo || v > hi) return fmt::format("must be {}, got {}", rule, text);
        return "";
      },
      fmt::format("in [{}, {}]", lo, hi));
}

CLI::Validator int_at_least(int64_t lo) { return int_in(lo, INT_MAX); }

CLI::Validator seed_value() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const std::string rule = "a whole number from 0 to 18446744073709551615";
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
          return fmt::format("must be {}, got '{}'", rule, text);
        errno = 0;
        std::strtoull(text.c_str(), nullptr, 10);
        if (errno == ERANGE) return fmt::format("must be {} (2^64-1), got {}", rule, text);
        return "";
      },
      "0 to 2^64-1");
}

CLI::Validator device_name() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        static const std::regex pattern("cpu|cuda|cuda:[0-9]+");
        return std::regex_match(text, pattern) ? "" : "must be cpu, cuda or cuda:N, got '" + text + "'";
      },
      "cpu, cuda or cuda:N");
}

}  // namespace turbine::cli
