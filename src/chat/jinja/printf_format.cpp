// Python's printf-style `fmt % args` (and jinja2's |format filter): %s %r %d %i %f %e %g %x %o %c %%,
// with flags, width, precision and %(name)s keys.
#include <cmath>

#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/render_limits.h"
#include "core/utf8.h"

namespace turbine::jinja {
namespace {

std::string pad(std::string body, int width, bool left_align, bool zero_pad) {
  int len = static_cast<int>(utf8_decode(body).size());
  if (width <= len) return body;
  size_t fill = static_cast<size_t>(width - len);
  if (left_align) return body + std::string(fill, ' ');
  if (zero_pad) {
    size_t sign = (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) ? 1 : 0;
    return body.substr(0, sign) + std::string(fill, '0') + body.substr(sign);
  }
  return std::string(fill, ' ') + body;
}

}  // namespace

std::string printf_format(const std::string& fmt_str, const Value& args) {
  ValueList positional;
  const ValueDict* mapping = nullptr;
  if (args.is_tuple())
    positional = args.as_list();
  else if (args.is_dict())
    mapping = &args.as_dict();
  else
    positional.push_back(args);
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt_str.size(); ++i) {
    if (fmt_str[i] != '%') {
      out.push_back(fmt_str[i]);
      continue;
    }
    if (++i >= fmt_str.size()) fail("incomplete format");
    if (fmt_str[i] == '%') {
      out.push_back('%');
      continue;
    }
    const Value* value = nullptr;
    if (fmt_str[i] == '(') {
      size_t close = fmt_str.find(')', i);
      if (close == std::string::npos) fail("incomplete format key");
      if (!mapping) fail("format requires a mapping");
      value = mapping->find(fmt_str.substr(i + 1, close - i - 1));
      if (!value) fail("'{}'", fmt_str.substr(i + 1, close - i - 1));
      i = close + 1;
    }
    bool left = false, zero = false, plus = false, space = false, alt = false;
    for (; i < fmt_str.size() && std::string("-0+ #").find(fmt_str[i]) != std::string::npos; ++i) {
      left |= fmt_str[i] == '-';
      zero |= fmt_str[i] == '0';
      plus |= fmt_str[i] == '+';
      space |= fmt_str[i] == ' ';
      alt |= fmt_str[i] == '#';
    }
    // Widths and precisions beyond one value's size limit are refused before they can overflow an int.
    auto read_number = [&](int& n) {
      for (; i < fmt_str.size() && std::isdigit(static_cast<unsigned char>(fmt_str[i])); ++i) {
        n = n * 10 + (fmt_str[i] - '0');
        check_value_bytes(static_cast<size_t>(n), "a % format width");
      }
    };
    int width = 0, precision = -1;
    read_number(width);
    if (i < fmt_str.size() && fmt_str[i] == '.') {
      precision = 0;
      ++i;
      read_number(precision);
    }
    if (i >= fmt_str.size()) fail("incomplete format");
    char type = fmt_str[i];
    if (!value) {
      if (mapping) fail("format requires a mapping");
      if (next >= positional.size()) fail("not enough arguments for format string");
      value = &positional[next++];
    }
    std::string body;
    std::string sign_flag = plus ? "+" : space ? " " : "";
    switch (type) {
      case 's':
      case 'r': {
        body = type == 's' ? value->str() : value->repr();
        if (precision >= 0) {
          std::u32string u = utf8_decode(body);
          if (static_cast<int>(u.size()) > precision) body = utf8_encode(u.substr(0, static_cast<size_t>(precision)));
        }
        zero = false;
        break;
      }
      case 'd':
      case 'i':
      case 'u': {
        if (!value->is_number()) fail("%{} format: a real number is required, not {}", type, value->type_name());
        int64_t n = value->is_float() ? static_cast<int64_t>(std::trunc(value->as_float())) : value->as_int();
        body = (n >= 0 ? sign_flag : "") + std::to_string(n);
        break;
      }
      case 'x':
      case 'X':
      case 'o': {
        if (!value->is_int() && !value->is_bool())
          fail("%{} format: an integer is required, not {}", type, value->type_name());
        int64_t n = value->as_int();
        char buf[64];
        std::snprintf(buf, sizeof buf,
                      type == 'o'   ? "%llo"
                      : type == 'x' ? "%llx"
                                    : "%llX",
                      static_cast<unsigned long long>(n < 0 ? -n : n));
        body = std::string(n < 0 ? "-" : sign_flag) +
               (alt ? (type == 'o'   ? "0o"
                       : type == 'x' ? "0x"
                                     : "0X")
                    : "") +
               buf;
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!value->is_number()) fail("must be real number, not {}", value->type_name());
        std::string spec =
            "%" + sign_flag + (alt ? "#" : "") + "." + std::to_string(precision < 0 ? 6 : precision) + type;
        char buf[512];
        std::snprintf(buf, sizeof buf, spec.c_str(), value->as_float());
        body = buf;
        break;
      }
      case 'c': {
        if (value->is_string())
          body = value->as_string();
        else if (value->is_int()) {
          body.clear();
          append_utf8(body, static_cast<char32_t>(value->as_int()));
        } else
          fail("%c requires int or char");
        break;
      }
      default: fail("unsupported format character '{}'", type);
    }
    out += pad(body, width, left, zero);
    check_value_bytes(out.size(), "a % format");
  }
  if (!mapping && next < positional.size()) fail("not all arguments converted during string formatting");
  return out;
}

}  // namespace turbine::jinja
