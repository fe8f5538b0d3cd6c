#include "chat/jinja/evaluator.h"

#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/operators.h"

namespace turbine::jinja {
namespace {

// An error that already names its template position.
class PositionedError : public Error {
 public:
  using Error::Error;
};

std::shared_ptr<Scope> child_scope(const std::shared_ptr<Scope>& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

}  // namespace

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

std::string Evaluator::render(const Body& body, std::shared_ptr<Scope> globals) {
  std::string out;
  render_body(body, child_scope(globals), out);
  return out;
}

Evaluator::Flow Evaluator::render_body(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out) {
  for (const auto& stmt : body) {
    Flow f = render_stmt(*stmt, scope, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

void Evaluator::count_step(size_t offset, uint64_t n) {
  steps_ += n;
  if (steps_ > limits_.max_steps) {
    SourcePos p = map_.at(offset);
    throw PositionedError(fmt::format(
        "chat template line {}, column {}: render exceeded {} steps (the template loops or recurses too much)", p.line,
        p.column, limits_.max_steps));
  }
}

void Evaluator::charge_for_size(const Value& v, size_t offset) {
  uint64_t n = 0;
  if (v.is_list())
    n = v.as_list().size();
  else if (v.is_dict() || v.is_namespace())
    n = v.as_dict().items.size();
  else if (v.is_string())
    n = v.as_string().size() / 256;
  if (n > 0) count_step(offset, n);
}

void Evaluator::check_output(const std::string& out, size_t offset) const {
  if (out.size() > limits_.max_output_bytes) {
    SourcePos p = map_.at(offset);
    throw PositionedError(fmt::format("chat template line {}, column {}: rendered output exceeds {} bytes", p.line,
                                      p.column, limits_.max_output_bytes));
  }
}

Evaluator::Flow Evaluator::render_stmt(const Stmt& stmt, const std::shared_ptr<Scope>& scope, std::string& out) {
  count_step(stmt.offset);
  switch (stmt.kind) {
    case StmtKind::Text: out += stmt.text; break;
    case StmtKind::Output: {
      Value v = eval(*stmt.expr, scope);
      try {
        out += v.str();
      } catch (const Error& e) {
        fail_at(map_, stmt.expr->offset, e.what());
      }
      break;
    }
    case StmtKind::If:
      for (size_t i = 0; i < stmt.bodies.size(); ++i) {
        if (i >= stmt.conditions.size() || eval(*stmt.conditions[i], scope).truthy())
          return render_body(stmt.bodies[i], scope, out);
      }
      break;
    case StmtKind::For: return render_for(stmt, scope, out);
    case StmtKind::Set: assign(stmt, scope, eval(*stmt.expr, scope)); break;
    case StmtKind::SetBlock: {
      std::string captured;
      render_body(stmt.bodies[0], scope, captured);
      Value v(std::move(captured));
      if (stmt.expr) v = apply_filter_chain(*stmt.expr, scope, v);
      scope->vars[stmt.names[0]] = v;
      break;
    }
    case StmtKind::Macro: scope->vars[stmt.names[0]] = make_macro(stmt, scope); break;
    case StmtKind::CallBlock: {
      // jinja2 passes the body as the keyword argument `caller` of the call.
      const Expr& call = *stmt.expr;
      Value caller = make_caller(stmt, scope);
      Value result;
      try {
        Value callee = eval(*call.children[0], scope);
        ValueList args;
        KeywordArgs kwargs;
        eval_args(call, scope, args, kwargs, &caller);
        require_defined(callee);
        result = callee.call(args, kwargs);
      } catch (const RaisedError&) {
        throw;
      } catch (const PositionedError&) {
        throw;
      } catch (const std::exception& ex) {
        SourcePos p = map_.at(call.offset);
        throw PositionedError(fmt::format("chat template line {}, column {}: {}", p.line, p.column, ex.what()));
      }
      out += result.str();
      break;
    }
    case StmtKind::Break: return Flow::Break;
    case StmtKind::Continue: return Flow::Continue;
    case StmtKind::FilterBlock: {
      std::string captured;
      Flow f = render_body(stmt.bodies[0], scope, captured);
      out += apply_filter_chain(*stmt.expr, scope, Value(std::move(captured))).str();
      return f;
    }
    case StmtKind::Scope: return render_body(stmt.bodies[0], scope, out);
  }
  check_output(out, stmt.offset);
  return Flow::Normal;
}

void Evaluator::assign(const Stmt& stmt, const std::shared_ptr<Scope>& scope, Value value) {
  if (stmt.attribute_target) {
    const Value* ns = scope->lookup(stmt.names[0]);
    if (!ns || !ns->is_namespace()) fail_at(map_, stmt.offset, "can only assign attributes of a namespace object");
    ns->namespace_attrs().set(stmt.names[1], std::move(value));
    return;
  }
  if (stmt.names.size() == 1) {
    scope->vars[stmt.names[0]] = std::move(value);
    return;
  }
  ValueList items = iterate(value);
  if (items.size() != stmt.names.size())
    fail_at(map_, stmt.offset, fmt::format("cannot unpack {} values into {} names", items.size(), stmt.names.size()));
  for (size_t i = 0; i < items.size(); ++i) scope->vars[stmt.names[i]] = items[i];
}

Evaluator::Flow Evaluator::render_for(const Stmt& stmt, const std::shared_ptr<Scope>& scope, std::string& out) {
  Value iterable = eval(*stmt.expr, scope);
  ValueList all;
  try {
    all = iterate(iterable);
  } catch (const Error& e) {
    fail_at(map_, stmt.expr->offset, e.what());
  }
  auto bind = [&](const std::shared_ptr<Scope>& s, const Value& item) {
    if (stmt.names.size() == 1) {
      s->vars[stmt.names[0]] = item;
      return;
    }
    ValueList parts = iterate(item);
    if (parts.size() != stmt.names.size())
      fail_at(map_, stmt.offset, fmt::format("cannot unpack {} values into {} names", parts.size(), stmt.names.size()));
    for (size_t k = 0; k < parts.size(); ++k) s->vars[stmt.names[k]] = parts[k];
  };
  ValueList items;
  if (stmt.condition) {
    for (const auto& item : all) {
      count_step(stmt.offset);
      auto s = child_scope(scope);
      bind(s, item);
      if (eval(*stmt.condition, s).truthy()) items.push_back(item);
    }
  } else {
    items = std::move(all);
  }
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    count_step(stmt.offset);
    auto s = child_scope(scope);
    bind(s, items[i]);
    if (!stmt.uses_loop) {
      if (render_body(stmt.bodies[0], s, out) == Flow::Break) break;
      continue;
    }
    ValueDict loop;
    loop.items.reserve(12);
    loop.items.emplace_back("index", Value(i + 1));
    loop.items.emplace_back("index0", Value(i));
    loop.items.emplace_back("revindex", Value(n - i));
    loop.items.emplace_back("revindex0", Value(n - i - 1));
    loop.items.emplace_back("first", Value(i == 0));
    loop.items.emplace_back("last", Value(i == n - 1));
    loop.items.emplace_back("length", Value(n));
    loop.items.emplace_back("depth", Value(1));
    loop.items.emplace_back("depth0", Value(0));
    loop.items.emplace_back("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop.items.emplace_back("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
    loop.items.emplace_back("cycle", Value::function("loop.cycle", [i](const ValueList& args, const KeywordArgs&) {
                              if (args.empty()) fail("no items for cycling given");
                              return args[static_cast<size_t>(i) % args.size()];
                            }));
    s->vars["loop"] = Value::namespace_object(std::move(loop));
    Flow f = render_body(stmt.bodies[0], s, out);
    if (f == Flow::Break) break;
  }
  if (n == 0 && stmt.bodies.size() > 1) return render_body(stmt.bodies[1], scope, out);
  return Flow::Normal;
}

void Evaluator::eval_args(const Expr& e, const std::shared_ptr<Scope>& scope, ValueList& args, KeywordArgs& kwargs,
                          const Value* caller) {
  size_t n_kw = e.kw_names.size();
  size_t n_pos = e.children.size() - 1 - n_kw;
  for (size_t i = 0; i < n_pos; ++i) args.push_back(eval(*e.children[1 + i], scope));
  for (size_t i = 0; i < n_kw; ++i) kwargs.items.emplace_back(e.kw_names[i], eval(*e.children[1 + n_pos + i], scope));
  if (caller) kwargs.items.emplace_back("caller", *caller);
  if (e.star_args) {
    Value spread = eval(*e.star_args, scope);
    if (!spread.is_undefined() && !spread.is_list() && !spread.is_dict() && !spread.is_string())
      fail("Value after * must be an iterable, not {}", spread.type_name());
    for (auto& v : iterate(spread)) args.push_back(std::move(v));
  }
  if (e.star_kwargs) {
    Value spread = eval(*e.star_kwargs, scope);
    if (!spread.is_dict()) fail("argument after ** must be a mapping, not {}", spread.type_name());
    for (const auto& [k, v] : spread.as_dict().items) {
      if (kwargs.find(k)) fail("got multiple values for keyword argument '{}'", k);
      kwargs.items.emplace_back(k, v);
    }
  }
}

Value Evaluator::apply_filter_chain(const Expr& e, const std::shared_ptr<Scope>& scope, const Value& body_value) {
  if (e.kind != ExprKind::Filter) return body_value;
  Value input = apply_filter_chain(*e.children[0], scope, body_value);
  ValueList args;
  KeywordArgs kwargs;
  eval_args(e, scope, args, kwargs);
  if (!has_filter(e.name)) fail_at(map_, e.offset, "No filter named '" + e.name + "'");
  return apply_filter(e.name, input, args, kwargs);
}

Value Evaluator::eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
  count_step(e.offset);
  try {
    Value v = eval_inner(e, scope);
    if (v.is_string()) check_value_bytes(v.as_string().size(), "a string");
    if (v.is_list()) check_sequence_items(v.as_list().size(), "a list");
    return v;
  } catch (const RaisedError&) {
    throw;
  } catch (const PositionedError&) {
    throw;
  } catch (const std::exception& ex) {
    SourcePos p = map_.at(e.offset);
    throw PositionedError(fmt::format("chat template line {}, column {}: {}", p.line, p.column, ex.what()));
  }
}

Value Evaluator::eval_inner(const Expr& e, const std::shared_ptr<Scope>& scope) {
  switch (e.kind) {
    case ExprKind::Literal: return e.literal;
    case ExprKind::Name: {
      const Value* v = scope->lookup(e.name);
      return v ? *v : Value::undefined("'" + e.name + "' is undefined");
    }
    case ExprKind::List:
    case ExprKind::Tuple: {
      ValueList items;
      for (const auto& c : e.children) items.push_back(eval(*c, scope));
      return Value::list(std::move(items), e.kind == ExprKind::Tuple);
    }
    case ExprKind::Dict: {
      ValueDict d;
      for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
        Value k = eval(*e.children[i], scope);
        if (!k.is_string()) fail("only string keys are supported in dict literals");
        d.set(k.as_string(), eval(*e.children[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::GetAttr: {
      Value obj = eval(*e.children[0], scope);
      Value attr = get_attribute(obj, e.name);
      if (attr.is_function()) charge_for_size(obj, e.offset);  // a method walks its object
      return attr;
    }
    case ExprKind::GetItem: return get_item(eval(*e.children[0], scope), eval(*e.children[1], scope));
    case ExprKind::Slice: {
      Value obj = eval(*e.children[0], scope);
      Value parts[3];
      for (int i = 0; i < 3; ++i) parts[i] = e.children[1 + i] ? eval(*e.children[1 + i], scope) : Value::none();
      return slice_value(obj, parts[0], parts[1], parts[2]);
    }
    case ExprKind::Call: {
      Value callee = eval(*e.children[0], scope);
      ValueList args;
      KeywordArgs kwargs;
      eval_args(e, scope, args, kwargs);
      require_defined(callee);
      for (const auto& a : args) charge_for_size(a, e.offset);
      Value result = callee.call(args, kwargs);
      charge_for_size(result, e.offset);
      return result;
    }
    case ExprKind::Filter: {
      if (!has_filter(e.name)) fail_at(map_, e.offset, "No filter named '" + e.name + "'");
      Value input = eval(*e.children[0], scope);
      ValueList args;
      KeywordArgs kwargs;
      eval_args(e, scope, args, kwargs);
      // length and default do not walk their input (messages|length runs once per message in real templates).
      bool walks = e.name != "length" && e.name != "count" && e.name != "default" && e.name != "d";
      if (walks) charge_for_size(input, e.offset);
      Value result = apply_filter(e.name, input, args, kwargs);
      if (walks) charge_for_size(result, e.offset);
      return result;
    }
    case ExprKind::Test: {
      if (!has_test(e.name)) fail_at(map_, e.offset, "No test named '" + e.name + "'");
      Value input = eval(*e.children[0], scope);
      ValueList args;
      KeywordArgs kwargs;
      eval_args(e, scope, args, kwargs);
      bool r = apply_test(e.name, input, args);
      return Value(e.negated ? !r : r);
    }
    case ExprKind::Not: return Value(!eval(*e.children[0], scope).truthy());
    case ExprKind::Negate:
    case ExprKind::Plus: return unary_operation(e.kind == ExprKind::Negate ? '-' : '+', eval(*e.children[0], scope));
    case ExprKind::Binary: {
      Value l = eval(*e.children[0], scope);
      Value r = eval(*e.children[1], scope);
      charge_for_size(l, e.offset);
      charge_for_size(r, e.offset);
      Value result = binary_operation(e.name, l, r);
      charge_for_size(result, e.offset);
      return result;
    }
    case ExprKind::And: {
      Value l = eval(*e.children[0], scope);
      return l.truthy() ? eval(*e.children[1], scope) : l;
    }
    case ExprKind::Or: {
      Value l = eval(*e.children[0], scope);
      return l.truthy() ? l : eval(*e.children[1], scope);
    }
    case ExprKind::Condition:
      if (eval(*e.children[0], scope).truthy()) return eval(*e.children[1], scope);
      if (e.children[2]) return eval(*e.children[2], scope);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
  }
  return Value();
}

}  // namespace turbine::jinja
