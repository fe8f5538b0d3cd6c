#include "chat/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/error.h"
#include "chat/jinja/render_limits.h"
#include "core/unicode.h"
#include "core/utf8.h"

namespace turbine::jinja {
namespace {
// Deeply nested data ends in an error, not a stack overflow.
constexpr uint16_t kMaxValueDepth = 500;
}  // namespace

const Value* ValueDict::find(const std::string& key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void ValueDict::set(const std::string& key, Value value) {
  for (auto& [k, v] : items)
    if (k == key) {
      v = std::move(value);
      return;
    }
  items.emplace_back(key, std::move(value));
}

const Value* KeywordArgs::find(const std::string& name) const {
  for (const auto& [k, v] : items)
    if (k == name) return &v;
  return nullptr;
}

Value Value::undefined(std::string hint) {
  Value v;
  v.s_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

Value::Value(bool b) : kind_(Kind::Bool), b_(b) {}
Value::Value(int64_t i) : kind_(Kind::Int), i_(i) {}
Value::Value(double f) : kind_(Kind::Float), f_(f) {}
Value::Value(std::string s) : kind_(Kind::String), s_(std::make_shared<const std::string>(std::move(s))) {}

namespace {
uint16_t nested_depth(const ValueList& items) {
  uint16_t d = 0;
  for (const auto& item : items) d = std::max(d, item.depth_for_nesting());
  if (d >= kMaxValueDepth) fail("value nested deeper than {} levels", kMaxValueDepth);
  return static_cast<uint16_t>(d + 1);
}
}  // namespace

Value Value::list(ValueList items, bool is_tuple) {
  Value v;
  v.depth_ = nested_depth(items);
  v.kind_ = Kind::List;
  v.tuple_ = is_tuple;
  v.list_ = std::make_shared<const ValueList>(std::move(items));
  return v;
}

Value Value::dict(ValueDict dict) {
  Value v;
  uint16_t d = 0;
  for (const auto& item : dict.items) d = std::max(d, item.second.depth_for_nesting());
  if (d >= kMaxValueDepth) fail("value nested deeper than {} levels", kMaxValueDepth);
  v.depth_ = static_cast<uint16_t>(d + 1);
  v.kind_ = Kind::Dict;
  v.dict_ = std::make_shared<ValueDict>(std::move(dict));
  return v;
}

Value Value::namespace_object(ValueDict attrs) {
  Value v = dict(std::move(attrs));
  v.kind_ = Kind::Namespace;
  return v;
}

Value Value::function(std::string name, NativeFunction fn) {
  Value v;
  v.kind_ = Kind::Function;
  v.s_ = std::make_shared<const std::string>(std::move(name));
  v.fn_ = std::make_shared<const NativeFunction>(std::move(fn));
  return v;
}

namespace {
Value from_json_at(const nlohmann::ordered_json& j, int depth);
}  // namespace

Value Value::from_json(const nlohmann::ordered_json& j) { return from_json_at(j, 0); }

namespace {
Value from_json_at(const nlohmann::ordered_json& j, int depth) {
  if (depth > kMaxValueDepth) fail("JSON input nested deeper than {} levels", kMaxValueDepth);
  using V = Value;
  switch (j.type()) {
    case nlohmann::json::value_t::null: return V::none();
    case nlohmann::json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: return Value(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      ValueList items;
      for (const auto& e : j) items.push_back(from_json_at(e, depth + 1));
      return V::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      ValueDict d;
      for (auto it = j.begin(); it != j.end(); ++it)
        d.items.emplace_back(it.key(), from_json_at(it.value(), depth + 1));
      return V::dict(std::move(d));
    }
    default: return V::none();
  }
}
}  // namespace

double Value::as_float() const {
  if (kind_ == Kind::Float) return f_;
  return static_cast<double>(as_int());
}

Value Value::call(const ValueList& args, const KeywordArgs& kwargs) const {
  if (kind_ != Kind::Function) fail("'{}' object is not callable", type_name());
  return (*fn_)(args, kwargs);
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return b_;
    case Kind::Int: return i_ != 0;
    case Kind::Float: return f_ != 0.0;
    case Kind::String: return !s_->empty();
    case Kind::List: return !list_->empty();
    case Kind::Dict: return !dict_->items.empty();
    default: return true;
  }
}

const char* Value::type_name() const {
  switch (kind_) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return tuple_ ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Function: return "function";
  }
  return "object";
}

std::string python_float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  if (f == 0) return std::signbit(f) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci = [-]d[.ddd]e[+-]XX: split into sign, digits and decimal exponent.
  bool negative = sci[0] == '-';
  size_t start = negative ? 1 : 0;
  size_t epos = sci.find('e');
  std::string digits;
  for (size_t i = start; i < epos; ++i)
    if (sci[i] != '.') digits.push_back(sci[i]);
  int exponent = std::stoi(sci.substr(epos + 1));
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(-exponent - 1, '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out += digits + std::string(exponent + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out.append(".").append(digits, 1);
  out += exponent < 0 ? "e-" : "e+";
  int a = std::abs(exponent);
  if (a < 10) out += "0";
  out += std::to_string(a);
  return out;
}

std::string python_string_repr(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : utf8_decode(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (!is_python_printable(c)) {
      char buf[16];
      if (c < 0x100)
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      else if (c < 0x10000)
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      else
        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
      out += buf;
    } else {
      append_utf8(out, c);
    }
  }
  out.push_back(quote);
  return out;
}

std::string Value::str() const {
  switch (kind_) {
    case Kind::Undefined: return "";
    case Kind::String: return *s_;
    default: return repr();
  }
}

std::string Value::repr() const {
  std::string out;
  repr_into(out, 0);
  return out;
}

// One buffer for the whole value, its size checked as it grows: a list can hold the same long string
// many times, so the printed size is not bounded by the memory the value takes.
void Value::repr_into(std::string& out, int depth) const {
  if (depth > kMaxValueDepth) fail("value nested too deeply to print");
  switch (kind_) {
    case Kind::Undefined: out += "Undefined"; break;
    case Kind::None: out += "None"; break;
    case Kind::Bool: out += b_ ? "True" : "False"; break;
    case Kind::Int: out += std::to_string(i_); break;
    case Kind::Float: out += python_float_repr(f_); break;
    case Kind::String:
      check_value_bytes(out.size() + s_->size() + 2, "printing a value");  // before the quoting work
      out += python_string_repr(*s_);
      break;
    case Kind::List: {
      out += tuple_ ? "(" : "[";
      for (size_t i = 0; i < list_->size(); ++i) {
        if (i) out += ", ";
        (*list_)[i].repr_into(out, depth + 1);
      }
      if (tuple_ && list_->size() == 1) out += ",";
      out += tuple_ ? ")" : "]";
      break;
    }
    case Kind::Dict:
    case Kind::Namespace: {
      out += kind_ == Kind::Namespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, v] : dict_->items) {
        if (!first) out += ", ";
        first = false;
        out += python_string_repr(k);
        out += ": ";
        v.repr_into(out, depth + 1);
      }
      out += kind_ == Kind::Namespace ? "}>" : "}";
      break;
    }
    case Kind::Function: out += "<function " + *s_ + ">"; break;
  }
  check_value_bytes(out.size(), "printing a value");
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return true;
    case Value::Kind::String: return a.as_string() == b.as_string();
    case Value::Kind::List: {
      if (a.is_tuple() != b.is_tuple()) return false;
      const auto& x = a.as_list();
      const auto& y = b.as_list();
      // One shared list is equal to itself, as Python compares identical items: a list holding the same
      // big list many times then compares in one step, not in a walk over every copy.
      if (&x == &y) return true;
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!values_equal(x[i], y[i])) return false;
      return true;
    }
    case Value::Kind::Dict: {
      const auto& x = a.as_dict().items;
      const auto& y = b.as_dict();
      if (&x == &y.items) return true;
      if (x.size() != y.items.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* other = y.find(k);
        if (!other || !values_equal(v, *other)) return false;
      }
      return true;
    }
    default: return &a.as_dict() == &b.as_dict();
  }
}

int compare_values(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_float(), y = b.as_float();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    const auto& x = a.as_list();
    const auto& y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (values_equal(x[i], y[i])) continue;
      return compare_values(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  fail("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name());
}

}  // namespace turbine::jinja
