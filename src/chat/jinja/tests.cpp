// jinja2's built-in tests (`x is defined`, `x is string`, ...).
#include <cmath>

#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/operators.h"
#include "core/unicode.h"
#include "core/utf8.h"

namespace turbine::jinja {
namespace {

const Value& need(const ValueList& args, size_t i, const char* test) {
  if (i >= args.size()) fail("test '{}' needs an argument", test);
  return args[i];
}

bool string_case(const Value& v, bool upper) {
  bool any = false;
  for (char32_t c : utf8_decode(v.str())) {
    if (is_cased_upper(c) || is_cased_lower(c)) any = true;
    if (upper ? is_cased_lower(c) : is_cased_upper(c)) return false;
  }
  return any;
}

const char* const kTests[] = {"defined",     "undefined", "none",        "boolean", "true",     "false",    "integer",
                              "float",       "number",    "string",      "mapping", "iterable", "sequence", "callable",
                              "even",        "odd",       "divisibleby", "eq",      "equalto",  "==",       "ne",
                              "!=",          "lt",        "lessthan",    "<",       "le",       "<=",       "gt",
                              "greaterthan", ">",         "ge",          ">=",      "in",       "lower",    "upper",
                              "sameas",      "escaped",   "filter",      "test"};

}  // namespace

bool has_test(const std::string& name) {
  for (const char* t : kTests)
    if (name == t) return true;
  return false;
}

bool apply_test(const std::string& n, const Value& v, const ValueList& args) {
  if (n == "defined") return !v.is_undefined();
  if (n == "undefined") return v.is_undefined();
  if (n == "none") return v.is_none();
  if (n == "boolean") return v.is_bool();
  if (n == "true") return v.is_bool() && v.as_bool();
  if (n == "false") return v.is_bool() && !v.as_bool();
  if (n == "integer") return v.is_int();
  if (n == "float") return v.is_float();
  if (n == "number") return v.is_number();
  if (n == "string") return v.is_string();
  if (n == "mapping") return v.is_dict();
  if (n == "iterable" || n == "sequence") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (n == "callable") return v.is_function() || v.is_undefined();
  if (n == "escaped") return false;
  if (n == "even" || n == "odd") {
    require_defined(v);
    if (!v.is_number()) fail("not all arguments converted during string formatting");
    if (v.is_float()) {
      double m = std::fmod(v.as_float(), 2.0);
      if (m < 0) m += 2.0;
      return n == "even" ? m == 0 : m == 1;
    }
    int64_t m = ((v.as_int() % 2) + 2) % 2;
    return n == "even" ? m == 0 : m == 1;
  }
  if (n == "divisibleby") {
    const Value& d = need(args, 0, "divisibleby");
    Value r = binary_operation("%", v, d);
    return r.as_float() == 0;
  }
  if (n == "eq" || n == "equalto" || n == "==") return values_equal(v, need(args, 0, "eq"));
  if (n == "ne" || n == "!=") return !values_equal(v, need(args, 0, "ne"));
  if (n == "lt" || n == "lessthan" || n == "<") return binary_operation("<", v, need(args, 0, "lt")).truthy();
  if (n == "le" || n == "<=") return binary_operation("<=", v, need(args, 0, "le")).truthy();
  if (n == "gt" || n == "greaterthan" || n == ">") return binary_operation(">", v, need(args, 0, "gt")).truthy();
  if (n == "ge" || n == ">=") return binary_operation(">=", v, need(args, 0, "ge")).truthy();
  if (n == "in") return contains(need(args, 0, "in"), v);
  if (n == "lower") return string_case(v, false);
  if (n == "upper") return string_case(v, true);
  if (n == "sameas") {
    const Value& o = need(args, 0, "sameas");
    if (v.kind() != o.kind()) return false;
    if (v.is_list() || v.is_dict() || v.is_namespace()) return false;  // distinct objects in our model
    return values_equal(v, o);
  }
  if (n == "filter") return v.is_string() && has_filter(v.as_string());
  if (n == "test") return v.is_string() && has_test(v.as_string());
  fail("No test named '{}'", n);
}

}  // namespace turbine::jinja
