// jinja2 decides at compile time which special names a macro receives (and whether a for loop needs its
// `loop` object): it walks the body in node-field order, and a name counts when it is read before anything
// assigns or declares it. A store of the name first (a {% set %}, a loop target, a nested macro's
// parameter) takes it out of the search.
#include <set>
#include <string>

#include "chat/jinja/parser.h"

namespace turbine::jinja {
namespace {

class SpecialNameFinder {
 public:
  explicit SpecialNameFinder(std::set<std::string> names) : searched(std::move(names)) {}
  std::set<std::string> searched;
  std::set<std::string> found;

  bool done() const { return found == searched; }

  void load(const std::string& name) {
    if (done()) return;
    if (searched.count(name)) found.insert(name);
  }
  void store(const std::string& name) {
    if (!done()) searched.erase(name);
  }

  void expr(const Expr* e) {
    if (!e || done()) return;
    if (e->kind == ExprKind::Name) load(e->name);
    for (const auto& c : e->children) expr(c.get());
    expr(e->star_args.get());
    expr(e->star_kwargs.get());
  }

  void body(const Body& b) {
    for (const auto& s : b) stmt(*s);
  }

  void params(const Stmt& s) {
    for (const auto& p : s.params) store(p.name);
    for (const auto& p : s.params) expr(p.default_value.get());
  }

  void stmt(const Stmt& s) {
    if (done()) return;
    switch (s.kind) {
      case StmtKind::Text:
      case StmtKind::Break:
      case StmtKind::Continue: break;
      case StmtKind::Output: expr(s.expr.get()); break;
      case StmtKind::If:
        for (size_t i = 0; i < s.bodies.size(); ++i) {
          if (i < s.conditions.size()) expr(s.conditions[i].get());
          body(s.bodies[i]);
        }
        break;
      case StmtKind::For:  // target, iter, body, else, test
        for (const auto& n : s.names) store(n);
        expr(s.expr.get());
        for (const auto& b : s.bodies) body(b);
        expr(s.condition.get());
        break;
      case StmtKind::Set:  // target, value
        if (!s.attribute_target)
          for (const auto& n : s.names) store(n);
        expr(s.expr.get());
        break;
      case StmtKind::SetBlock:  // target, filter, body
        store(s.names[0]);
        expr(s.expr.get());
        body(s.bodies[0]);
        break;
      case StmtKind::Macro:  // name (not a variable reference), params, defaults, body
        params(s);
        body(s.bodies[0]);
        break;
      case StmtKind::CallBlock:  // call, params, defaults, body
        expr(s.expr.get());
        params(s);
        body(s.bodies[0]);
        break;
      case StmtKind::FilterBlock:  // body, filter
        body(s.bodies[0]);
        expr(s.expr.get());
        break;
      case StmtKind::Scope: body(s.bodies[0]); break;
    }
  }
};

}  // namespace

MacroSignature analyze_macro_signature(const Stmt& macro) {
  SpecialNameFinder finder({"caller", "kwargs", "varargs"});
  finder.body(macro.bodies[0]);
  MacroSignature sig;
  bool param_kwargs = false, param_varargs = false;
  for (const auto& p : macro.params) {
    sig.explicit_caller = sig.explicit_caller || p.name == "caller";
    param_kwargs = param_kwargs || p.name == "kwargs";
    param_varargs = param_varargs || p.name == "varargs";
  }
  sig.takes_caller = finder.found.count("caller") > 0;
  sig.takes_kwargs = finder.found.count("kwargs") > 0 && !param_kwargs;
  sig.takes_varargs = finder.found.count("varargs") > 0 && !param_varargs;
  return sig;
}

bool body_reads_name(const Body& body, const std::string& name) {
  SpecialNameFinder finder({name});
  finder.body(body);
  return !finder.found.empty();
}

}  // namespace turbine::jinja
