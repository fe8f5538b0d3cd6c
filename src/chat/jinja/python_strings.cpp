// Python's str.title, str.split and str.strip, by code point.
#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "core/unicode.h"
#include "core/utf8.h"

namespace turbine::jinja {

std::string python_title(const std::string& s) {
  std::u32string u = utf8_decode(s);
  bool previous_cased = false;
  for (auto& c : u) {
    c = previous_cased ? to_lower(c) : to_upper(c);
    previous_cased = is_cased_upper(c) || is_cased_lower(c);
  }
  return utf8_encode(u);
}

ValueList python_split(const std::string& s, const Value& sep, int64_t maxsplit) {
  ValueList out;
  if (sep.is_undefined() || sep.is_none()) {
    std::u32string u = utf8_decode(s);
    size_t i = 0;
    int64_t splits = 0;
    while (true) {
      while (i < u.size() && is_python_space(u[i])) ++i;
      if (i >= u.size()) break;
      if (maxsplit >= 0 && splits >= maxsplit) {
        size_t end = u.size();
        while (end > i && is_python_space(u[end - 1])) --end;
        out.emplace_back(utf8_encode(u.substr(i, end - i)));
        break;
      }
      size_t j = i;
      while (j < u.size() && !is_python_space(u[j])) ++j;
      out.emplace_back(utf8_encode(u.substr(i, j - i)));
      ++splits;
      i = j;
    }
    return out;
  }
  if (!sep.is_string()) fail("must be str or None, not {}", sep.type_name());
  const std::string& d = sep.as_string();
  if (d.empty()) fail("empty separator");
  size_t pos = 0;
  int64_t splits = 0;
  while (maxsplit < 0 || splits < maxsplit) {
    size_t hit = s.find(d, pos);
    if (hit == std::string::npos) break;
    out.emplace_back(s.substr(pos, hit - pos));
    pos = hit + d.size();
    ++splits;
  }
  out.emplace_back(s.substr(pos));
  return out;
}

std::string python_strip(const std::string& s, const Value& chars, bool left, bool right) {
  std::u32string u = utf8_decode(s);
  std::u32string set;
  bool whitespace = chars.is_undefined() || chars.is_none();
  if (!whitespace) {
    if (!chars.is_string()) fail("strip arg must be None or str");
    set = utf8_decode(chars.as_string());
  }
  auto strip_it = [&](char32_t c) { return whitespace ? is_python_space(c) : set.find(c) != std::u32string::npos; };
  size_t b = 0, e = u.size();
  if (left)
    while (b < e && strip_it(u[b])) ++b;
  if (right)
    while (e > b && strip_it(u[e - 1])) --e;
  return utf8_encode(u.substr(b, e - b));
}

}  // namespace turbine::jinja
