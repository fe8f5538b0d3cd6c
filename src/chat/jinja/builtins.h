// jinja2's built-in filters and tests, attribute/item access with Python's str/list/dict methods,
// and transformers' tojson. Everything throws Error with a Python-like message on misuse.
#pragma once
#include <string>

#include "chat/jinja/value.h"

namespace turbine::jinja {

// A template-visible raise_exception(): its message is the whole error, unprefixed.
class RaisedError : public std::runtime_error {
 public:
  explicit RaisedError(const std::string& message) : std::runtime_error(message) {}
};

Value apply_filter(const std::string& name, const Value& input, const ValueList& args, const KeywordArgs& kwargs);
bool apply_test(const std::string& name, const Value& input, const ValueList& args);
bool has_filter(const std::string& name);
bool has_test(const std::string& name);

// jinja2's getattr (`x.name`): a method of str/dict/list, a namespace attribute, else a dict item.
Value get_attribute(const Value& obj, const std::string& name);
// jinja2's getitem (`x[key]`): a dict item, list/str index; missing -> undefined.
Value get_item(const Value& obj, const Value& key);
// Python slicing of a str or list.
Value slice_value(const Value& obj, const Value& start, const Value& stop, const Value& step);

// Items a for loop visits: list items, dict keys, str characters; undefined -> none.
ValueList iterate(const Value& v);
// len(); throws for numbers and None.
int64_t length_of(const Value& v);
// Fails with jinja2's UndefinedError message when v is undefined.
void require_defined(const Value& v);

// json.dumps(x, ensure_ascii=False, indent, separators, sort_keys) as transformers' tojson calls it.
std::string to_json(const Value& v, bool ensure_ascii, const Value& indent, const Value& separators, bool sort_keys);

// Python's `fmt % args` (args: a tuple, a dict for %(name)s, or one value).
std::string printf_format(const std::string& fmt, const Value& args);

// The int, float and round filters: Python's int(x) / float(x) (`dflt` when x does not convert) and
// round(x, precision) with jinja2's methods 'common', 'ceil' and 'floor'.
Value to_int(const Value& v, const Value& dflt);
Value to_float(const Value& v, const Value& dflt);
Value round_value(const Value& v, int64_t precision, const std::string& method);

// Python's str.title() and str.split(), also used by filters.
std::string python_title(const std::string& s);
ValueList python_split(const std::string& s, const Value& sep, int64_t maxsplit);
std::string python_strip(const std::string& s, const Value& chars, bool left, bool right);

}  // namespace turbine::jinja
