// The grammar that guides the tool call a chat request forces (tool_choice "required" or a named
// function, with --tool-call-parser): the reply is one call object that the parser always reads,
// `{"name": NAME, "arguments": ARGS}` (llama3: "parameters"), both keys required, in that order, no
// other keys, where NAME is a declared tool's name and ARGS follows that tool's `parameters` schema.
// "required" is any one of the declared tools (each name with its own arguments); a named function
// is that tool alone.
//
// Arguments are guided as "any JSON object" where a schema cannot guide them: a tool without
// `parameters`, a schema outside the compiler's subset (json_schema.h: e.g. `pattern`, `format`,
// `maxLength`) or that it refuses (`minimum` above `maximum`), or one that lets through values
// other than objects (`{}`, a type list with "string"). That is not an error: the call is still
// guided to parse, only its arguments are not checked.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "guided/json_grammar.h"
#include "server/tool_call_parser.h"

namespace turbine::server {

// `tools` are the request's checked function tools; `name` the named function's name, or null for
// "required" (every declared tool).
std::shared_ptr<const JsonGrammar> forced_tool_call_grammar(ToolCallFormat format, const nlohmann::ordered_json& tools,
                                                            const std::string* name);

}  // namespace turbine::server
