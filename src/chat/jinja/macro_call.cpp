// Macros and call blocks invoked the way jinja2's runtime Macro does: positionals fill the declared
// parameters, then keywords the rest; `caller`, `kwargs` and `varargs` are bound only when the body uses
// them (MacroSignature); otherwise extra arguments are errors with jinja2's messages.
#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/evaluator.h"

namespace turbine::jinja {

Value Evaluator::make_macro(const Stmt& stmt, const std::shared_ptr<Scope>& scope) {
  const Stmt* def = &stmt;
  std::weak_ptr<Scope> weak = scope;  // the macro lives in this scope: no ownership cycle
  return Value::function(stmt.names[0], [this, def, weak](const ValueList& args, const KeywordArgs& kwargs) {
    auto closure = weak.lock();
    if (!closure) fail("macro '{}' called outside of its scope", def->names[0]);
    return invoke_macro(*def, "'" + def->names[0] + "'", closure, args, kwargs);
  });
}

Value Evaluator::make_caller(const Stmt& call_block, const std::shared_ptr<Scope>& scope) {
  const Stmt* def = &call_block;
  std::weak_ptr<Scope> weak = scope;  // a macro may keep `caller` in a namespace that outlives the block
  return Value::function("caller", [this, def, weak](const ValueList& args, const KeywordArgs& kwargs) {
    auto closure = weak.lock();
    if (!closure) fail("caller called outside of its call block");
    return invoke_macro(*def, "None", closure, args, kwargs);  // jinja2 names a call block's macro None
  });
}

Value Evaluator::invoke_macro(const Stmt& def, const std::string& display_name, const std::shared_ptr<Scope>& closure,
                              const ValueList& args, const KeywordArgs& kwargs) {
  if (call_depth_ >= limits_.max_call_depth)
    fail("maximum recursion depth exceeded in macro {} (the limit is {} nested calls)", display_name,
         limits_.max_call_depth);
  count_step(def.offset);
  const MacroSignature& sig = def.signature;
  const size_t n_params = def.params.size();
  KeywordArgs rest = kwargs;  // keywords not yet consumed
  auto take = [&rest](const std::string& name, Value& out) {
    for (auto it = rest.items.begin(); it != rest.items.end(); ++it)
      if (it->first == name) {
        out = std::move(it->second);
        rest.items.erase(it);
        return true;
      }
    return false;
  };

  std::vector<Value> values(n_params);
  std::vector<bool> given(n_params, false);
  const size_t n_positional = std::min(args.size(), n_params);
  for (size_t i = 0; i < n_positional; ++i) {
    values[i] = args[i];
    given[i] = true;
  }
  bool found_caller = sig.explicit_caller;
  if (n_positional != n_params) {
    found_caller = false;
    for (size_t i = n_positional; i < n_params; ++i) {
      given[i] = take(def.params[i].name, values[i]);
      if (def.params[i].name == "caller") found_caller = true;
    }
  }
  Value caller;
  if (sig.takes_caller && !found_caller) {
    if (!take("caller", caller) || caller.is_none()) caller = Value::undefined("No caller defined");
  }
  Value extra_kwargs;
  if (sig.takes_kwargs) {
    ValueDict d;
    for (auto& [k, v] : rest.items) d.set(k, v);
    extra_kwargs = Value::dict(std::move(d));
  } else if (!rest.items.empty()) {
    if (rest.find("caller"))
      fail("macro {} was invoked with two values for the special caller argument. This is most likely a bug.",
           display_name);
    fail("macro {} takes no keyword argument '{}'", display_name, rest.items.front().first);
  }
  Value extra_args;
  if (sig.takes_varargs) {
    ValueList more;
    if (args.size() > n_params) more.assign(args.begin() + static_cast<std::ptrdiff_t>(n_params), args.end());
    extra_args = Value::list(std::move(more), /*is_tuple=*/true);
  } else if (args.size() > n_params) {
    fail("macro {} takes not more than {} argument(s)", display_name, n_params);
  }

  auto s = std::make_shared<Scope>();
  s->parent = closure;
  for (size_t i = 0; i < n_params; ++i) {
    const MacroParam& p = def.params[i];
    if (given[i])
      s->vars[p.name] = std::move(values[i]);
    else if (p.default_value)
      s->vars[p.name] = eval(*p.default_value, s);
    else
      s->vars[p.name] = Value::undefined("parameter '" + p.name + "' was not provided");
  }
  if (sig.takes_caller && !found_caller) s->vars["caller"] = caller;
  if (sig.takes_kwargs) s->vars["kwargs"] = extra_kwargs;
  if (sig.takes_varargs) s->vars["varargs"] = extra_args;

  ++call_depth_;
  std::string out;
  try {
    render_body(def.bodies[0], s, out);
  } catch (...) {
    --call_depth_;
    throw;
  }
  --call_depth_;
  return Value(std::move(out));
}

}  // namespace turbine::jinja
