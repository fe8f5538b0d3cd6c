// The parsed template: expression and statement trees. Every node keeps its source offset so
// runtime errors can name a line and column.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "chat/jinja/value.h"

namespace turbine::jinja {

enum class ExprKind {
  Literal,    // literal
  Name,       // name
  List,       // children = items
  Tuple,      // children = items
  Dict,       // children = key0, value0, key1, value1, ...
  GetAttr,    // children[0] . name
  GetItem,    // children[0] [ children[1] ]
  Slice,      // children[0] [ children[1] : children[2] : children[3] ] (null = omitted)
  Call,       // children[0] ( children[1..] ); the last kw_names.size() children are keyword arguments;
              // star_args / star_kwargs hold `*x` / `**y` when given
  Filter,     // children[0] | name ( children[1..] ), arguments as for Call
  Test,       // children[0] is [not] name ( children[1..] ), arguments as for Call; negated
  Not,        // not children[0]
  Negate,     // - children[0]
  Plus,       // + children[0]
  Binary,     // children[0] op children[1]
  And,        // children[0] and children[1]
  Or,         // children[0] or children[1]
  Condition,  // children[1] if children[0] else children[2] (children[2] may be null)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind;
  size_t offset = 0;
  Value literal;
  std::string name;  // Name, GetAttr attribute, Filter/Test name, Binary operator
  std::vector<ExprPtr> children;
  std::vector<std::string> kw_names;
  ExprPtr star_args, star_kwargs;  // f(*star_args, **star_kwargs); null when absent
  bool negated = false;
};

enum class StmtKind { Text, Output, If, For, Set, SetBlock, Macro, CallBlock, Break, Continue, FilterBlock, Scope };

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null when required
};

// What a macro's (or a call block's) body refers to without defining it, as jinja2 decides at compile
// time: only then does the macro take `caller`, extra keywords (`kwargs`) or extra positionals (`varargs`).
struct MacroSignature {
  bool takes_caller = false;
  bool takes_kwargs = false;
  bool takes_varargs = false;
  bool explicit_caller = false;  // `caller` is one of the declared parameters
};

struct Stmt {
  StmtKind kind;
  size_t offset = 0;
  std::string text;                // Text
  ExprPtr expr;                    // Output, For iterable, Set value, FilterBlock filter chain
  ExprPtr condition;               // For `if` filter
  std::vector<std::string> names;  // For/Set targets; Set on ns.attr: {ns, attr} with attribute_target
  bool attribute_target = false;
  bool recursive = false;
  bool uses_loop = true;            // For: the body reads `loop`, so each iteration builds it
  std::vector<ExprPtr> conditions;  // If: one per branch (else branch has none)
  std::vector<Body> bodies;         // If branches (+ else), For body (+ else), Macro/CallBlock/SetBlock/Scope body
  std::vector<MacroParam> params;   // Macro, CallBlock (the caller's parameters)
  MacroSignature signature;         // Macro, CallBlock
  // CallBlock: `expr` is the call; the body becomes the `caller` macro passed to it.
};

}  // namespace turbine::jinja
