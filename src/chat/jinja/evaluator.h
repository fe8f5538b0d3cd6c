// Renders a parsed template: scopes as jinja2 has them (a for-loop iteration and a macro call
// open one; if/else does not), loop variables, macros as closures, break/continue.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"

namespace turbine::jinja {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
  const Value* lookup(const std::string& name) const;
};

class Evaluator {
 public:
  explicit Evaluator(const SourceMap& map) : map_(map) {}
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
  void eval_args(const Expr& e, const std::shared_ptr<Scope>& scope, ValueList& args, KeywordArgs& kwargs);
  Value apply_filter_chain(const Expr& e, const std::shared_ptr<Scope>& scope, const Value& body_value);
  Value make_macro(const Stmt& stmt, const std::shared_ptr<Scope>& scope);

  const SourceMap& map_;
  int call_depth_ = 0;
};

}  // namespace turbine::jinja
