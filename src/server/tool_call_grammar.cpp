#include "server/tool_call_grammar.h"

#include <set>
#include <stdexcept>
#include <vector>

#include "guided/json_schema.h"

namespace turbine::server {

namespace {

using Json = nlohmann::ordered_json;

// Whether every value `node` accepts is an object (an Object node, or alternatives that all are).
bool objects_only(const JsonGrammar& grammar, int32_t node, std::set<int32_t>& seen) {
  const JsonNode& n = grammar.node(node);
  if (n.kind == JsonNodeKind::Object) return true;
  if (n.kind != JsonNodeKind::AnyOf) return false;
  if (!seen.insert(node).second) return true;  // already being checked higher up
  for (int32_t alternative : n.alternatives)
    if (!objects_only(grammar, alternative, seen)) return false;
  return true;
}

// The arguments of `function` as a node of `grammar`: its parameters schema compiled on its own
// (so that its $refs resolve against its own root, as the client wrote them) and embedded, or any
// object where that schema cannot guide them (see the header).
int32_t arguments_node(JsonGrammar& grammar, const Json& function) {
  const auto parameters = function.find("parameters");
  if (parameters == function.end() || parameters->is_null()) return JsonGrammar::kAnyObject;
  std::shared_ptr<const JsonGrammar> compiled;
  try {
    compiled = compile_json_schema(parameters->dump());
  } catch (const JsonSchemaError&) {
    return JsonGrammar::kAnyObject;
  }
  std::set<int32_t> seen;
  if (!objects_only(*compiled, compiled->root(), seen)) return JsonGrammar::kAnyObject;
  return grammar.embed(*compiled);
}

// {"name": <the name, byte for byte>, "<arguments key>": <arguments>}, both required, nothing else.
int32_t call_node(JsonGrammar& grammar, const std::string& arguments_key, const Json& function) {
  JsonNode name;
  name.kind = JsonNodeKind::Literals;
  name.literals = {Json(function["name"].get<std::string>()).dump()};
  const int32_t name_node = grammar.add(std::move(name));
  const int32_t arguments = arguments_node(grammar, function);
  JsonNode call;
  call.kind = JsonNodeKind::Object;
  call.properties = {{Json("name").dump(), name_node, true}, {Json(arguments_key).dump(), arguments, true}};
  return grammar.add(std::move(call));
}

}  // namespace

// The grammar is put together from nodes rather than compiled from one composed JSON Schema
// document: a document would need every tool's $refs rewritten to where its schema lands, and one
// tool's schema outside the subset would fail the whole document instead of falling back alone.
std::shared_ptr<const JsonGrammar> forced_tool_call_grammar(ToolCallFormat format, const Json& tools,
                                                            const std::string* name) {
  const std::string arguments_key = format == ToolCallFormat::Qwen ? "arguments" : "parameters";
  auto grammar = std::make_shared<JsonGrammar>();
  std::vector<int32_t> calls;
  for (const Json& tool : tools) {
    const Json& function = tool["function"];
    if (name && function["name"] != *name) continue;
    calls.push_back(call_node(*grammar, arguments_key, function));
  }
  // parse_tool_choice checked that "required" has tools and that a named function is declared.
  if (calls.empty()) throw std::logic_error("forced_tool_call_grammar: no tool to call");
  if (calls.size() == 1) {
    grammar->set_root(calls[0]);
  } else {
    JsonNode any_of;
    any_of.kind = JsonNodeKind::AnyOf;
    any_of.alternatives = std::move(calls);
    grammar->set_root(grammar->add(std::move(any_of)));
  }
  return grammar;
}

}  // namespace turbine::server
