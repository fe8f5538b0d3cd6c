// Python's int(), float() and round() as jinja2's int, float and round filters apply them.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "core/unicode.h"
#include "core/utf8.h"

namespace turbine::jinja {
namespace {

// Python int(str): optional sign, digits with single underscores, surrounding whitespace.
bool parse_python_int(const std::string& text, int64_t& out) {
  std::string s = python_strip(text, Value::none(), true, true);
  std::string digits;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) digits.push_back(s[i++]);
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i])))
      digits.push_back(s[i]);
    else if (s[i] == '_' && i > 0 && std::isdigit(static_cast<unsigned char>(s[i - 1])) && i + 1 < s.size() &&
             std::isdigit(static_cast<unsigned char>(s[i + 1])))
      continue;
    else
      return false;
  }
  try {
    out = std::stoll(digits);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

bool parse_python_float(const std::string& text, double& out) {
  std::string s = python_strip(text, Value::none(), true, true);
  if (s.empty()) return false;
  std::string low = lower_string(s);
  std::string body = (low[0] == '+' || low[0] == '-') ? low.substr(1) : low;
  if (body == "inf" || body == "infinity" || body == "nan") {
    out = body == "nan" ? NAN : INFINITY;
    if (low[0] == '-') out = -out;
    return true;
  }
  if (body.find_first_not_of("0123456789.e+-_") != std::string::npos) return false;
  char* end = nullptr;
  std::string clean = s;
  clean.erase(std::remove(clean.begin(), clean.end(), '_'), clean.end());
  out = std::strtod(clean.c_str(), &end);
  return end && *end == '\0' && end != clean.c_str();
}

}  // namespace

Value to_int(const Value& v, const Value& dflt) {
  require_defined(v);
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) {
    if (!std::isfinite(v.as_float())) return dflt;
    return Value(static_cast<int64_t>(std::trunc(v.as_float())));
  }
  if (v.is_string()) {
    int64_t i;
    if (parse_python_int(v.as_string(), i)) return Value(i);
    double f;
    if (parse_python_float(v.as_string(), f) && std::isfinite(f)) return Value(static_cast<int64_t>(std::trunc(f)));
  }
  return dflt;
}

Value to_float(const Value& v, const Value& dflt) {
  require_defined(v);
  if (v.is_number()) return Value(v.as_float());
  double f;
  if (v.is_string() && parse_python_float(v.as_string(), f)) return Value(f);
  return dflt;
}

Value round_value(const Value& v, int64_t precision, const std::string& method) {
  if (!v.is_number()) fail("type {} doesn't define __round__ method", v.type_name());
  if (method == "common") {
    if (!v.is_float()) return Value(v.as_int());
    double x = v.as_float();
    if (precision == 0) return Value(std::nearbyint(x));
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(std::clamp<int64_t>(precision, 0, 300)), x);
    return Value(std::strtod(buf, nullptr));
  }
  if (method != "ceil" && method != "floor") fail("method must be 'common', 'ceil' or 'floor'");
  double scale = std::pow(10.0, static_cast<double>(precision));
  double scaled = v.as_float() * scale;
  return Value((method == "ceil" ? std::ceil(scaled) : std::floor(scaled)) / scale);
}

}  // namespace turbine::jinja
