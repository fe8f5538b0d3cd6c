// Methods templates may call on values, as Python has them: str (strip, split, startswith, ...),
// dict (items, keys, values, get) and list (index, count). Mutating methods are refused, as
// transformers' immutable sandbox refuses them.
#pragma once
#include <string>

#include "chat/jinja/value.h"

namespace turbine::jinja {

// The bound method `obj.name`, or undefined when obj has no such (safe) method.
Value bind_method(const Value& obj, const std::string& name);

}  // namespace turbine::jinja
