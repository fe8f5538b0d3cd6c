// Compiles a JSON Schema (the practical subset OpenAI's structured outputs use) into a JsonGrammar.
// Supported: type (one name or a list), properties (generated in declaration order; the required
// ones always, the optional ones may be skipped), required, additionalProperties, items, enum,
// const, anyOf (oneOf is taken as anyOf), local $ref ("#", "#/$defs/...", "#/definitions/...",
// recursion allowed), minItems/maxItems, and the string keywords (string_schema.h): minLength and
// maxLength in code points of the decoded string, pattern (an ECMA-262 subset, regex_syntax.h,
// unanchored as JSON Schema has it) and format (date-time, date, time, duration, email, hostname,
// ipv4, ipv6, uuid, uri: string_formats.h). The string keywords constrain only the string branch of
// a type list and are ignored on a type without one; without a type they make the value a string
// (as properties make it an object). A pattern construct outside the subset, an unknown format, or
// string keywords that no string satisfies together are errors at the keyword. Annotations (title,
// description, default, examples, $schema, $comment) are ignored; any other keyword is an error
// naming it.
// An object with properties takes no other keys whatever additionalProperties says; an object
// without properties takes any keys, with values of additionalProperties' schema when it is one
// (and none at all when it is false).
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "guided/json_grammar.h"

namespace turbine {

class JsonSchemaError : public Error {
 public:
  JsonSchemaError(std::string path, std::string reason)
      : Error(path.empty() ? reason : path + ": " + reason), path_(std::move(path)), reason_(std::move(reason)) {}
  // Where in the schema, as keys joined by dots from its root ("properties.age.minimum"), array
  // elements as [i]; empty for the root itself.
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string path_, reason_;
};

// `schema_json` is the schema's JSON text. Throws JsonSchemaError.
std::shared_ptr<const JsonGrammar> compile_json_schema(std::string_view schema_json);

}  // namespace turbine
