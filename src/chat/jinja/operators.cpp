#include "chat/jinja/operators.h"

#include <cmath>

#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/render_limits.h"

namespace turbine::jinja {
namespace {

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  fail("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t floor_mod(int64_t a, int64_t b) {
  int64_t m = a % b;
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

Value repeat(const Value& seq, int64_t times) {
  if (times < 0) times = 0;
  // Checked by division: size * times can overflow.
  if (seq.is_string()) {
    if (!seq.as_string().empty() && static_cast<uint64_t>(times) > kMaxValueBytes / seq.as_string().size())
      check_value_bytes(kMaxValueBytes + 1, "string repetition");
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  if (!seq.as_list().empty() && static_cast<uint64_t>(times) > kMaxSequenceItems / seq.as_list().size())
    check_sequence_items(kMaxSequenceItems + 1, "list repetition");
  ValueList out;
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  return Value::list(std::move(out), seq.is_tuple());
}

bool is_integral(const Value& v) { return v.is_int() || v.is_bool(); }

}  // namespace

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::Undefined: return false;
    case Value::Kind::String:
      if (!item.is_string()) {
        require_defined(item);
        fail("'in <string>' requires string as left operand, not {}", item.type_name());
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::List:
      for (const auto& v : container.as_list())
        if (values_equal(v, item)) return true;
      return false;
    case Value::Kind::Dict: return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    default: fail("argument of type '{}' is not iterable", container.type_name());
  }
}

Value unary_operation(char op, const Value& a) {
  require_defined(a);
  if (a.is_float()) return Value(op == '-' ? -a.as_float() : a.as_float());
  if (is_integral(a)) return Value(op == '-' ? -a.as_int() : a.as_int());
  fail("bad operand type for unary {}: '{}'", op, a.type_name());
}

Value binary_operation(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return Value(values_equal(a, b));
  if (op == "!=") return Value(!values_equal(a, b));
  if (op == "in") return Value(contains(b, a));
  if (op == "notin") return Value(!contains(b, a));
  if (op == "~") {
    std::string left = a.str(), right = b.str();
    check_value_bytes(left.size() + right.size(), "a ~ concatenation");
    return Value(left + right);
  }
  require_defined(a);
  require_defined(b);
  if (op == "<") return Value(compare_values(a, b) < 0);
  if (op == "<=") return Value(compare_values(a, b) <= 0);
  if (op == ">") return Value(compare_values(a, b) > 0);
  if (op == ">=") return Value(compare_values(a, b) >= 0);

  const bool numbers = a.is_number() && b.is_number();
  const bool ints = is_integral(a) && is_integral(b);
  if (op == "+") {
    if (ints) return Value(a.as_int() + b.as_int());
    if (numbers) return Value(a.as_float() + b.as_float());
    if (a.is_string() && b.is_string()) {
      check_value_bytes(a.as_string().size() + b.as_string().size(), "a + concatenation");
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      check_sequence_items(a.as_list().size() + b.as_list().size(), "a + concatenation");
      ValueList out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return Value::list(std::move(out), a.is_tuple());
    }
    if (a.is_string()) fail("can only concatenate str (not \"{}\") to str", b.type_name());
    if (a.is_list()) fail("can only concatenate list (not \"{}\") to list", b.type_name());
    unsupported("+", a, b);
  }
  if (op == "-") {
    if (ints) return Value(a.as_int() - b.as_int());
    if (numbers) return Value(a.as_float() - b.as_float());
    unsupported("-", a, b);
  }
  if (op == "*") {
    if (ints) return Value(a.as_int() * b.as_int());
    if (numbers) return Value(a.as_float() * b.as_float());
    if ((a.is_string() || a.is_list()) && is_integral(b)) return repeat(a, b.as_int());
    if ((b.is_string() || b.is_list()) && is_integral(a)) return repeat(b, a.as_int());
    unsupported("*", a, b);
  }
  if (op == "/") {
    if (!numbers) unsupported("/", a, b);
    if (b.as_float() == 0) fail("division by zero");
    return Value(a.as_float() / b.as_float());
  }
  if (op == "//") {
    if (!numbers) unsupported("//", a, b);
    if (b.as_float() == 0) fail("integer division or modulo by zero");
    if (ints) return Value(floor_div(a.as_int(), b.as_int()));
    return Value(std::floor(a.as_float() / b.as_float()));
  }
  if (op == "%") {
    if (a.is_string()) return Value(printf_format(a.as_string(), b));
    if (!numbers) unsupported("%", a, b);
    if (b.as_float() == 0) fail("integer division or modulo by zero");
    if (ints) return Value(floor_mod(a.as_int(), b.as_int()));
    double x = a.as_float(), y = b.as_float();
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value(m);
  }
  if (op == "**") {
    if (!numbers) unsupported("** or pow()", a, b);
    if (ints && b.as_int() >= 0) {
      // Square-and-multiply: a huge exponent takes 64 steps, not billions (64-bit wraparound on overflow).
      uint64_t result = 1, base = static_cast<uint64_t>(a.as_int());
      for (uint64_t e = static_cast<uint64_t>(b.as_int()); e > 0; e >>= 1) {
        if (e & 1) result *= base;
        base *= base;
      }
      return Value(static_cast<int64_t>(result));
    }
    return Value(std::pow(a.as_float(), b.as_float()));
  }
  fail("unknown operator '{}'", op);
}

}  // namespace turbine::jinja
