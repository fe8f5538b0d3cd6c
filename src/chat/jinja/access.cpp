// Attribute, item and slice access, iteration and len(), with jinja2's undefined rules.
#include <algorithm>
#include <optional>

#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/render_limits.h"
#include "chat/jinja/methods.h"
#include "core/utf8.h"

namespace turbine::jinja {

void require_defined(const Value& v) {
  if (v.is_undefined()) {
    const std::string& hint = v.undefined_hint();
    fail("{}", hint.empty() ? "value is undefined" : hint);
  }
}

namespace {

std::string object_name(const Value& v) { return fmt::format("'{} object'", v.type_name()); }

Value missing_attribute(const Value& obj, const std::string& name) {
  return Value::undefined(fmt::format("{} has no attribute '{}'", object_name(obj), name));
}

// Python's index normalisation for obj[i]; false when out of range.
bool normalize_index(int64_t& i, int64_t size) {
  if (i < 0) i += size;
  return i >= 0 && i < size;
}

}  // namespace

Value get_attribute(const Value& obj, const std::string& name) {
  require_defined(obj);
  switch (obj.kind()) {
    case Value::Kind::Namespace: {
      const Value* v = obj.namespace_attrs().find(name);
      return v ? *v : missing_attribute(obj, name);
    }
    case Value::Kind::Dict: {
      Value method = bind_method(obj, name);
      if (!method.is_undefined()) return method;
      const Value* v = obj.as_dict().find(name);
      return v ? *v : missing_attribute(obj, name);
    }
    case Value::Kind::String:
    case Value::Kind::List: {
      Value method = bind_method(obj, name);
      return method.is_undefined() ? missing_attribute(obj, name) : method;
    }
    default: return missing_attribute(obj, name);
  }
}

Value get_item(const Value& obj, const Value& key) {
  require_defined(obj);
  switch (obj.kind()) {
    case Value::Kind::Dict:
      if (key.is_string()) {
        const Value* v = obj.as_dict().find(key.as_string());
        if (v) return *v;
        // jinja2 falls back to an attribute: d['items'] on a dict without that key is the method.
        Value method = bind_method(obj, key.as_string());
        if (!method.is_undefined()) return method;
      }
      return Value::undefined(fmt::format("{} has no attribute {}", object_name(obj), key.repr()));
    case Value::Kind::Namespace:
      if (key.is_string()) return get_attribute(obj, key.as_string());
      break;
    case Value::Kind::List:
      if (key.is_int() || key.is_bool()) {
        int64_t i = key.as_int();
        const auto& items = obj.as_list();
        if (normalize_index(i, static_cast<int64_t>(items.size()))) return items[static_cast<size_t>(i)];
        return Value::undefined(fmt::format("{} has no element {}", object_name(obj), key.repr()));
      }
      if (key.is_string()) return get_attribute(obj, key.as_string());
      break;
    case Value::Kind::String:
      if (key.is_int() || key.is_bool()) {
        std::u32string s = utf8_decode(obj.as_string());
        int64_t i = key.as_int();
        if (normalize_index(i, static_cast<int64_t>(s.size())))
          return Value(utf8_encode(std::u32string(1, s[static_cast<size_t>(i)])));
        return Value::undefined(fmt::format("{} has no element {}", object_name(obj), key.repr()));
      }
      if (key.is_string()) return get_attribute(obj, key.as_string());
      break;
    default: break;
  }
  return Value::undefined(fmt::format("{} has no element {}", object_name(obj), key.repr()));
}

Value slice_value(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  require_defined(obj);
  if (!obj.is_string() && !obj.is_list()) fail("{} is not subscriptable", object_name(obj));
  auto as_index = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (!v.is_int() && !v.is_bool()) fail("slice {} must be an integer or None", what);
    return v.as_int();
  };
  std::u32string chars;
  int64_t size;
  if (obj.is_string()) {
    chars = utf8_decode(obj.as_string());
    size = static_cast<int64_t>(chars.size());
  } else {
    size = static_cast<int64_t>(obj.as_list().size());
  }
  int64_t step = as_index(step_v, "step").value_or(1);
  if (step == 0) fail("slice step cannot be zero");
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t i = *v;
    if (i < 0) i += size;
    if (step > 0) return std::clamp<int64_t>(i, 0, size);
    return std::clamp<int64_t>(i, -1, size - 1);
  };
  int64_t start = clamp(as_index(start_v, "start"), step > 0 ? 0 : size - 1);
  int64_t stop = clamp(as_index(stop_v, "stop"), step > 0 ? size : -1);
  std::vector<int64_t> picks;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) picks.push_back(i);
  if (obj.is_string()) {
    std::u32string out;
    for (int64_t i : picks) out.push_back(chars[static_cast<size_t>(i)]);
    return Value(utf8_encode(out));
  }
  ValueList out;
  for (int64_t i : picks) out.push_back(obj.as_list()[static_cast<size_t>(i)]);
  return Value::list(std::move(out), obj.is_tuple());
}

ValueList iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::List: return v.as_list();
    case Value::Kind::Dict: {
      ValueList keys;
      for (const auto& [k, _] : v.as_dict().items) keys.emplace_back(k);
      return keys;
    }
    case Value::Kind::String: {
      // Each character becomes a value of its own: bounded like any list before the memory is taken.
      if (v.as_string().size() > kMaxSequenceItems)
        check_sequence_items(utf8_decode(v.as_string()).size(), "a string's characters");
      ValueList chars;
      for (char32_t c : utf8_decode(v.as_string())) chars.emplace_back(utf8_encode(std::u32string(1, c)));
      return chars;
    }
    default: fail("'{}' object is not iterable", v.type_name());
  }
}

int64_t length_of(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return static_cast<int64_t>(utf8_decode(v.as_string()).size());
    case Value::Kind::List: return static_cast<int64_t>(v.as_list().size());
    case Value::Kind::Dict: return static_cast<int64_t>(v.as_dict().items.size());
    default: fail("object of type '{}' has no len()", v.type_name());
  }
}

}  // namespace turbine::jinja
