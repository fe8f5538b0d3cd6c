// Python semantics of the template operators: + - * / // % ** ~, comparisons, in / not in.
#pragma once
#include <string>

#include "chat/jinja/value.h"

namespace turbine::jinja {

Value binary_operation(const std::string& op, const Value& a, const Value& b);
Value unary_operation(char op, const Value& a);
// `a in b` (substring, list element, dict key).
bool contains(const Value& container, const Value& item);

}  // namespace turbine::jinja
