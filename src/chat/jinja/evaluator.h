// Renders a parsed template: scopes as jinja2 has them (a for-loop iteration and a macro call
// open one; if/else does not), loop variables, macros as closures (with caller, varargs and kwargs),
// call blocks, break/continue; within RenderLimits.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"
#include "chat/jinja/render_limits.h"

namespace turbine::jinja {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
  const Value* lookup(const std::string& name) const;
};

class Evaluator {
 public:
  Evaluator(const SourceMap& map, const RenderLimits& limits) : map_(map), limits_(limits) {}
  // Renders `body` with `globals` as the outermost scope; throws Error / RaisedError.
  std::string render(const Body& body, std::shared_ptr<Scope> globals);

 private:
  enum class Flow { Normal, Break, Continue };
  Flow render_body(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out);
  Flow render_stmt(const Stmt& stmt, const std::shared_ptr<Scope>& scope, std::string& out);
  Flow render_for(const Stmt& stmt, const std::shared_ptr<Scope>& scope, std::string& out);
  void assign(const Stmt& stmt, const std::shared_ptr<Scope>& scope, Value value);
  Value eval(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value eval_inner(const Expr& e, const std::shared_ptr<Scope>& scope);
  // Arguments of a call, filter or test, `*x` and `**y` spread; `caller` (a call block's) goes with the keywords.
  void eval_args(const Expr& e, const std::shared_ptr<Scope>& scope, ValueList& args, KeywordArgs& kwargs,
                 const Value* caller = nullptr);
  Value apply_filter_chain(const Expr& e, const std::shared_ptr<Scope>& scope, const Value& body_value);
  // `n` evaluation steps; past limits_.max_steps the render ends with an error naming the limit.
  void count_step(size_t offset, uint64_t n = 1);
  // Charges an operation for the data it walks: a filter, call, method or operator over a long list or
  // string costs as many steps as it has items (or 256-byte pieces), so a loop cannot repeat one
  // expensive step millions of times within the limit.
  void charge_for_size(const Value& v, size_t offset);
  void check_output(const std::string& out, size_t offset) const;

  // Macros and call blocks (macro_call.cpp).
  Value make_macro(const Stmt& stmt, const std::shared_ptr<Scope>& scope);
  Value make_caller(const Stmt& call_block, const std::shared_ptr<Scope>& scope);
  Value invoke_macro(const Stmt& def, const std::string& display_name, const std::shared_ptr<Scope>& closure,
                     const ValueList& args, const KeywordArgs& kwargs);

  const SourceMap& map_;
  const RenderLimits& limits_;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
};

}  // namespace turbine::jinja
