// The values a Jinja template computes with, modelled on the Python objects jinja2 sees:
// undefined, None, bool, int, float, str, list/tuple, dict (insertion-ordered), namespace, callables.
// Lists and dicts are shared and never mutated (transformers' sandbox is immutable); namespaces are.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace turbine::jinja {

class Value;
using ValueList = std::vector<Value>;
struct KeywordArgs;

struct ValueDict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value value);
};

// A callable: a global function, a macro, or a bound method of a str/list/dict.
using NativeFunction = std::function<Value(const ValueList& args, const KeywordArgs& kwargs)>;

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Function };

  Value() = default;  // undefined
  static Value undefined(std::string hint = {});
  static Value none();
  Value(bool b);
  Value(int64_t i);
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(double f);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  static Value list(ValueList items, bool is_tuple = false);
  static Value dict(ValueDict dict);
  static Value namespace_object(ValueDict attrs);
  static Value function(std::string name, NativeFunction fn);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_tuple() const { return kind_ == Kind::List && tuple_; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_namespace() const { return kind_ == Kind::Namespace; }
  bool is_function() const { return kind_ == Kind::Function; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::Bool ? (b_ ? 1 : 0) : i_; }  // bool is an int in Python
  double as_float() const;                                                    // any number
  const std::string& as_string() const { return *s_; }
  const ValueList& as_list() const { return *list_; }
  const ValueDict& as_dict() const { return *dict_; }
  ValueDict& namespace_attrs() const { return *dict_; }
  const std::string& function_name() const { return *s_; }
  const std::string& undefined_hint() const { return *s_; }
  Value call(const ValueList& args, const KeywordArgs& kwargs) const;

  uint16_t depth_for_nesting() const { return depth_; }
  bool truthy() const;
  // Python str(): what `{{ value }}` prints.
  std::string str() const;
  // Python repr(): how a value prints inside a list or dict.
  std::string repr() const;
  const char* type_name() const;  // Python's name for the type, for error messages

 private:
  void repr_into(std::string& out, int depth) const;

  Kind kind_ = Kind::Undefined;
  uint16_t depth_ = 0;  // nesting of lists/dicts, bounded so printing and freeing never overflow the stack
  bool b_ = false;
  bool tuple_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<const std::string> s_;  // string, function name, or undefined hint
  std::shared_ptr<const ValueList> list_;
  std::shared_ptr<ValueDict> dict_;
  std::shared_ptr<const NativeFunction> fn_;
};

struct KeywordArgs {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(const std::string& name) const;
};

// Python equality (1 == 1.0 == True; lists and dicts compare by content).
bool values_equal(const Value& a, const Value& b);
// Python ordering for <, >, sort; throws Error for incomparable types.
int compare_values(const Value& a, const Value& b);

// Python float repr (shortest round-trip, '1.0', '1e+16', 'inf').
std::string python_float_repr(double f);
// Python repr of a str (quotes chosen as Python does, non-printables escaped).
std::string python_string_repr(const std::string& s);

}  // namespace turbine::jinja
