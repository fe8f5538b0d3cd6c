// transformers' tojson: json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...).
// No HTML escaping, keys in insertion order unless sorted, floats as Python's repr.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/render_limits.h"
#include "core/utf8.h"

namespace turbine::jinja {
namespace {

constexpr int kMaxJsonDepth = 200;

struct JsonStyle {
  bool pretty = false;
  std::string indent_unit;
  std::string item_sep = ", ";
  std::string key_sep = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};

void dump_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out.push_back('"');
  if (ensure_ascii) {
    for (char32_t c : utf8_decode(s)) {
      if (c < 0x80) {
        std::string one(1, static_cast<char>(c));
        std::string piece;
        dump_string(piece, one, false);
        out += piece.substr(1, piece.size() - 2);
        continue;
      }
      char buf[16];
      if (c < 0x10000) {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      } else {
        unsigned v = static_cast<unsigned>(c) - 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      }
      out += buf;
    }
    out.push_back('"');
    return;
  }
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void newline(std::string& out, const JsonStyle& style, int level) {
  if (!style.pretty) return;
  out.push_back('\n');
  for (int i = 0; i < level; ++i) {
    out += style.indent_unit;
    check_value_bytes(out.size(), "tojson");
  }
}

void dump(std::string& out, const Value& v, const JsonStyle& style, int level) {
  if (level > kMaxJsonDepth) fail("tojson: nesting too deep");
  switch (v.kind()) {
    case Value::Kind::None: out += "null"; return;
    case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Kind::Int: out += std::to_string(v.as_int()); return;
    case Value::Kind::Float: {
      double f = v.as_float();
      if (std::isnan(f))
        out += "NaN";
      else if (std::isinf(f))
        out += f > 0 ? "Infinity" : "-Infinity";
      else
        out += python_float_repr(f);
      return;
    }
    case Value::Kind::String: dump_string(out, v.as_string(), style.ensure_ascii); return;
    case Value::Kind::List: {
      const auto& items = v.as_list();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += style.item_sep;
        newline(out, style, level + 1);
        dump(out, items[i], style, level + 1);
        check_value_bytes(out.size(), "tojson");
      }
      newline(out, style, level);
      out.push_back(']');
      return;
    }
    case Value::Kind::Dict: {
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.as_dict().items) items.push_back(&kv);
      if (style.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      if (items.empty()) {
        out += "{}";
        return;
      }
      out.push_back('{');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += style.item_sep;
        newline(out, style, level + 1);
        dump_string(out, items[i]->first, style.ensure_ascii);
        out += style.key_sep;
        dump(out, items[i]->second, style, level + 1);
        check_value_bytes(out.size(), "tojson");
      }
      newline(out, style, level);
      out.push_back('}');
      return;
    }
    default: fail("Object of type {} is not JSON serializable", v.type_name());
  }
}

}  // namespace

std::string to_json(const Value& v, bool ensure_ascii, const Value& indent, const Value& separators, bool sort_keys) {
  JsonStyle style;
  style.ensure_ascii = ensure_ascii;
  style.sort_keys = sort_keys;
  if (!indent.is_none() && !indent.is_undefined()) {
    style.pretty = true;
    style.item_sep = ",";
    if (indent.is_int()) check_value_bytes(static_cast<size_t>(std::max<int64_t>(0, indent.as_int())), "tojson indent");
    if (indent.is_string())
      style.indent_unit = indent.as_string();
    else if (indent.is_int())
      style.indent_unit = std::string(static_cast<size_t>(std::max<int64_t>(0, indent.as_int())), ' ');
    else
      fail("tojson: indent must be an integer or a string");
  }
  if (!separators.is_none() && !separators.is_undefined()) {
    if (!separators.is_list() || separators.as_list().size() != 2 || !separators.as_list()[0].is_string() ||
        !separators.as_list()[1].is_string())
      fail("tojson: separators must be a pair of strings");
    style.item_sep = separators.as_list()[0].as_string();
    style.key_sep = separators.as_list()[1].as_string();
  }
  std::string out;
  dump(out, v, style, 0);
  return out;
}

}  // namespace turbine::jinja
