// Compiles a JSON Schema (the practical subset OpenAI's structured outputs and Pydantic's
// model_json_schema() use) into a JsonGrammar.
// Supported: type (one name or a list), properties (generated in declaration order; the required
// ones always, the optional ones may be skipped), required, additionalProperties, items, prefixItems
// (and the older tuple form: items as an array, additionalItems), minItems/maxItems, enum and const
// (their values that the type, numeric and string keywords beside them allow: an error where none is
// left; object and array keywords beside them are not applied), anyOf (oneOf is taken as anyOf),
// allOf of one schema (that schema), local $ref ("#", "#/$defs/...", "#/definitions/...", recursion
// allowed), nullable (OpenAPI 3.0: the type also allows null), minimum/maximum/exclusiveMinimum/exclusiveMaximum
// (numbers, or draft 4's booleans beside minimum/maximum) on integers and numbers, multipleOf (a positive integer) on
// integers, and the string keywords (string_schema.h): minLength and maxLength in code points of the decoded string,
// pattern (an ECMA-262 subset, regex_syntax.h, unanchored as JSON Schema has it) and format (date-time, date, time,
// duration, email, hostname, ipv4, ipv6, uuid, uri: string_formats.h). The numeric and string keywords constrain only
// their branch of a type list and are ignored on a type without one. A pattern construct outside the subset, an unknown
// format, or keywords that no value satisfies together are errors at the keyword. Annotations (title, description,
// default, examples, $schema, $comment, deprecated, readOnly, writeOnly, and the root's $id) are ignored; any other
// keyword is an error naming it. An object with properties takes no other keys whatever additionalProperties says; an
// object without properties takes any keys, with values of additionalProperties' schema when it is one (and none at all
// when it is false). Numeric bounds, as JSON Schema has it, constrain numbers alone (on a type list, its integer and
// number; on a string nothing); a schema with bounds but no type is a number. A float in the schema
// means the double it reads as. An integer's bounds lie within +-(2^64 - 1). A bounded number is
// written without an exponent and with at most 15 digits (kRangedNumberDigits), so that the bounds
// hold exactly, for the output's decimal and for the double a client reads it as; a bounded integer
// or number is never a negative zero ("-0"), so it begins with '-' only where the range holds a
// negative value. A range that holds no value (minimum above maximum, no integer or multiple
// between them) is an error at the keyword.
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

// `key` under `path`, as JsonSchemaError::path writes it.
inline std::string join_schema_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// `schema_json` is the schema's JSON text. Throws JsonSchemaError.
std::shared_ptr<const JsonGrammar> compile_json_schema(std::string_view schema_json);

}  // namespace turbine
