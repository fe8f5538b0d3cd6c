// Builds the statement tree from tokens, following jinja2's grammar and operator precedence.
#pragma once
#include <string>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"

namespace turbine::jinja {

// Throws Error("chat template line L, column C: ...") on a syntax error or an unsupported tag.
Body parse_template(const std::vector<Token>& tokens, const SourceMap& map);

// Whether a macro's or call block's body uses `caller`, `kwargs` or `varargs` before (or without)
// defining them, walking the body in the order jinja2's compiler does.
MacroSignature analyze_macro_signature(const Stmt& macro);
// Whether `body` reads `name` before (or without) defining it, by the same walk.
bool body_reads_name(const Body& body, const std::string& name);

}  // namespace turbine::jinja
