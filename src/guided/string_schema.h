// The string keywords of the JSON Schema subset (json_schema.h): minLength and maxLength (in code
// points of the decoded string, as JSON Schema counts them), pattern (regex_syntax.h's ECMA-262
// subset, unanchored as JSON Schema has it) and format (string_formats.h), compiled into one
// ConstrainedString node: the pattern's, the format's and minLength's automata intersected, and
// maxLength kept as the node's bound. They constrain strings only: the schema compiler asks for them
// where the schema's type allows a string.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "guided/json_grammar.h"

namespace turbine {

class StringSchemaCompiler {
 public:
  explicit StringSchemaCompiler(JsonGrammar& grammar) : grammar_(grammar) {}

  static bool is_string_keyword(std::string_view key);
  static bool has_string_keywords(const nlohmann::ordered_json& schema);
  // The node of a string that `schema` (at `path`) allows, its automaton added to the grammar;
  // nullopt when it has no string keywords (any string: JsonGrammar::kString). Throws
  // JsonSchemaError naming the keyword at fault.
  std::optional<JsonNode> compile(const nlohmann::ordered_json& schema, const std::string& path);

 private:
  const RegexDfa& pattern_dfa(const std::string& pattern, const std::string& path);

  JsonGrammar& grammar_;
  // Each distinct pattern (a format's included) compiled once per schema.
  std::map<std::string, RegexDfa> compiled_;
};

}  // namespace turbine
