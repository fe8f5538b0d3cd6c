// The JSON Schema subset: what each keyword lets through (checked with the matcher over whole
// texts), and the error, with its path, for everything outside the subset or invalid.
#include <gtest/gtest.h>

#include "guided/json_matcher.h"
#include "unit/grammar_matches.h"
#include "guided/json_schema.h"

namespace turbine {
namespace {

bool matches(const JsonGrammar& g, std::string_view text) { return test::grammar_matches(g, text); }

// Whether `text` is still a possible beginning.
bool may_begin(const JsonGrammar& g, std::string_view text) {
  const JsonMatcher m(g);
  MatcherState s = m.start();
  return m.advance(s, text);
}

std::string error_path(std::string_view schema) {
  try {
    compile_json_schema(schema);
  } catch (const JsonSchemaError& e) {
    return e.path() + " | " + e.reason();
  }
  return "no error";
}

TEST(JsonSchema, PropertiesComeInOrderRequiredOnesAlways) {
  const auto g = compile_json_schema(R"({"type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "nick": {"type": "string"}},
    "required": ["name", "age"], "additionalProperties": false})");
  EXPECT_TRUE(matches(*g, R"({"name": "Ann", "age": 3})"));
  EXPECT_TRUE(matches(*g, R"({"name": "Ann", "age": 3, "nick": "A"})"));
  EXPECT_FALSE(matches(*g, R"({"age": 3, "name": "Ann"})"));  // declaration order
  EXPECT_FALSE(matches(*g, R"({"name": "Ann"})"));            // age is required
  EXPECT_FALSE(may_begin(*g, R"({"name": "Ann", "x")"));      // no other keys
  EXPECT_FALSE(may_begin(*g, R"({"name": "Ann", "age": 3.5)"));
  EXPECT_FALSE(may_begin(*g, R"({"name": "Ann", "age": 3,})"));
}

TEST(JsonSchema, OptionalPropertiesMayBeSkipped) {
  const auto g = compile_json_schema(R"({"properties": {"a": {"type": "integer"}, "b": {"type": "boolean"},
    "c": {"type": "null"}}, "required": ["c"]})");
  EXPECT_TRUE(matches(*g, R"({"c": null})"));
  EXPECT_TRUE(matches(*g, R"({"b": true, "c": null})"));
  EXPECT_TRUE(matches(*g, R"({"a": 1, "c": null})"));
  EXPECT_FALSE(matches(*g, R"({"a": 1, "b": false})"));
  EXPECT_FALSE(matches(*g, R"({})"));
  const auto none_required = compile_json_schema(R"({"type": "object", "properties": {"a": {"type": "integer"}}})");
  EXPECT_TRUE(matches(*none_required, "{}"));
}

TEST(JsonSchema, EnumConstAndTypeLists) {
  const auto g = compile_json_schema(R"({"type": "object", "properties": {
    "color": {"enum": ["red", "green", 3, null, {"x": [1]}]},
    "kind": {"const": "fixed"},
    "v": {"type": ["string", "null"]}}, "required": ["color", "kind", "v"]})");
  EXPECT_TRUE(matches(*g, R"({"color": "red", "kind": "fixed", "v": null})"));
  EXPECT_TRUE(matches(*g, R"({"color": 3, "kind": "fixed", "v": "s"})"));
  EXPECT_TRUE(matches(*g, R"({"color": {"x":[1]}, "kind": "fixed", "v": "s"})"));
  EXPECT_FALSE(may_begin(*g, R"({"color": "blue")"));
  EXPECT_FALSE(may_begin(*g, R"({"color": "red", "kind": "other")"));
  EXPECT_FALSE(may_begin(*g, R"({"color": "red", "kind": "fixed", "v": 1)"));
}

TEST(JsonSchema, AnyOfAndOneOf) {
  for (const char* keyword : {"anyOf", "oneOf"}) {
    const auto g = compile_json_schema(fmt::format(R"({{"{}": [
      {{"type": "object", "properties": {{"a": {{"type": "integer"}}}}, "required": ["a"]}},
      {{"type": "object", "properties": {{"a": {{"type": "string"}}, "b": {{"type": "boolean"}}}}, "required": ["a", "b"]}},
      {{"type": "array", "items": {{"type": "integer"}}}}]}})",
                                                   keyword));
    EXPECT_TRUE(matches(*g, R"({"a": 1})")) << keyword;
    EXPECT_TRUE(matches(*g, R"({"a": "x", "b": true})")) << keyword;
    EXPECT_TRUE(matches(*g, R"([1, 2])")) << keyword;
    EXPECT_FALSE(matches(*g, R"({"a": 1, "b": true})")) << keyword;
    EXPECT_FALSE(matches(*g, R"({"a": "x"})")) << keyword;
  }
}

TEST(JsonSchema, ArraysCountTheirItems) {
  const auto g =
      compile_json_schema(R"({"type": "array", "items": {"type": "boolean"}, "minItems": 2, "maxItems": 3})");
  EXPECT_FALSE(matches(*g, "[]"));
  EXPECT_FALSE(matches(*g, "[true]"));
  EXPECT_TRUE(matches(*g, "[true, false]"));
  EXPECT_TRUE(matches(*g, "[true,false,true]"));
  EXPECT_FALSE(may_begin(*g, "[true,false,true,"));
  const auto empty_only = compile_json_schema(R"({"type": "array", "maxItems": 0})");
  EXPECT_TRUE(matches(*empty_only, "[]"));
  EXPECT_FALSE(may_begin(*empty_only, "[1"));
}

TEST(JsonSchema, LocalRefsIncludingRecursion) {
  const auto g = compile_json_schema(R"({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
    "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
    "required": ["value"], "additionalProperties": false}}})");
  EXPECT_TRUE(matches(*g, R"({"value": 1})"));
  EXPECT_TRUE(matches(*g, R"({"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}, {"value": 4}]})"));
  EXPECT_FALSE(matches(*g, R"({"value": 1, "children": [{"children": []}]})"));
  const auto defs = compile_json_schema(R"({"type": "object", "properties": {"p": {"$ref": "#/definitions/pt"}},
    "required": ["p"], "definitions": {"pt": {"type": "array", "items": {"type": "number"}, "maxItems": 2}}})");
  EXPECT_TRUE(matches(*defs, R"({"p": [1.5, -2]})"));
  EXPECT_FALSE(matches(*defs, R"({"p": [1, 2, 3]})"));
  const auto root =
      compile_json_schema(R"({"type": "array", "items": {"anyOf": [{"type": "integer"}, {"$ref": "#"}]}})");
  EXPECT_TRUE(matches(*root, "[1, [2, [3, []]]]"));
  EXPECT_FALSE(matches(*root, "[1, [\"x\"]]"));
}

TEST(JsonSchema, ObjectsWithoutPropertiesAndAnnotations) {
  const auto free = compile_json_schema(R"({"type": "object", "title": "T", "description": "d", "default": {},
    "examples": [{}], "$schema": "https://json-schema.org/draft/2020-12/schema"})");
  EXPECT_TRUE(matches(*free, R"({"any": [1, {"x": null}]})"));
  const auto map = compile_json_schema(R"({"type": "object", "additionalProperties": {"type": "integer"}})");
  EXPECT_TRUE(matches(*map, R"({"a": 1, "b": 2})"));
  EXPECT_FALSE(matches(*map, R"({"a": "x"})"));
  const auto empty = compile_json_schema(R"({"type": "object", "additionalProperties": false})");
  EXPECT_TRUE(matches(*empty, "{}"));
  EXPECT_FALSE(may_begin(*empty, "{\""));
  const auto any = compile_json_schema("{}");
  EXPECT_TRUE(matches(*any, "\"s\""));
  EXPECT_TRUE(matches(*any, "[1,{}]"));
}

TEST(JsonSchema, KeysAreWrittenJsonEncoded) {
  const auto g = compile_json_schema(R"({"type": "object", "properties": {"a \"q\"": {"type": "integer"},
    "é": {"type": "integer"}}, "required": ["a \"q\"", "é"]})");
  EXPECT_TRUE(matches(*g, R"({"a \"q\"": 1, "é": 2})"));
}

TEST(JsonSchema, ErrorsNameTheKeywordAndItsPath) {
  EXPECT_EQ(error_path(R"({"properties": {"age": {"type": "integer", "minimum": 0}}})"),
            "properties.age.minimum | unsupported keyword \"minimum\"");
  EXPECT_EQ(error_path(R"({"type": "string", "pattern": "^(?!a)b"})"),
            "pattern | lookahead \"(?!\" is not supported (at character 1)");
  EXPECT_EQ(error_path(R"({"type": "string", "format": "color"})").substr(0, 33),
            "format | unknown format \"color\" (");
  EXPECT_EQ(error_path(R"({"items": {"minLength": -1}})"), "items.minLength | expected a non-negative integer");
  EXPECT_EQ(error_path(R"({"anyOf": [{"type": "string"}, {"maxLength": "3"}]})"),
            "anyOf[1].maxLength | expected a non-negative integer");
  EXPECT_EQ(error_path(R"({"type": "text"})"),
            "type | unknown type \"text\" (expected string, number, integer, boolean, null, object or array)");
  EXPECT_EQ(error_path(R"({"type": ["string", 3]})"), "type[1] | expected a type name");
  EXPECT_EQ(error_path(R"({"type": ["string", "string"]})"), "type[1] | repeats a type");
  EXPECT_EQ(error_path(R"({"type": []})"), "type | expected a type name or a non-empty array of them");
  EXPECT_EQ(error_path(R"("string")"), " | expected a schema (a JSON object)");
  EXPECT_EQ(error_path(R"({"properties": {"a": 3}})"), "properties.a | expected a schema (a JSON object)");
  EXPECT_EQ(error_path(R"({"properties": []})"), "properties | expected an object of schemas");
  EXPECT_EQ(error_path(R"({"properties": {"a": {}}, "required": ["b"]})"),
            "required[0] | \"b\" is not one of the properties");
  EXPECT_EQ(error_path(R"({"required": "a"})"), "required | expected an array of property names");
  EXPECT_EQ(error_path(R"({"$ref": "#/$defs/missing"})"), "$ref | \"#/$defs/missing\" does not resolve");
  EXPECT_EQ(error_path(R"({"$ref": "https://example.com/s.json"})"),
            "$ref | \"https://example.com/s.json\" is not a reference inside this schema (\"#\" or \"#/...\")");
  EXPECT_EQ(error_path(R"({"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}})"),
            "$ref | refers back to itself before any value begins (a cycle of $ref/anyOf)");
  EXPECT_EQ(error_path(R"({"$ref": "#/$defs/a", "type": "string", "$defs": {"a": {}}})"),
            "$ref | $ref together with \"type\" is not supported");
  EXPECT_EQ(error_path(R"({"enum": []})"), "enum | expected a non-empty array of values");
  EXPECT_EQ(error_path(R"({"anyOf": {}})"), "anyOf | expected a non-empty array of schemas");
  EXPECT_EQ(error_path(R"({"items": [{"type": "string"}]})"),
            "items | an array of schemas (tuple form) is not supported");
  EXPECT_EQ(error_path(R"({"minItems": -1})"), "minItems | expected a non-negative integer");
  EXPECT_EQ(error_path(R"({"minItems": 3, "maxItems": 2})"), "maxItems | is less than minItems");
  EXPECT_EQ(error_path(R"({"additionalProperties": 1})"), "additionalProperties | expected a boolean or a schema");
  EXPECT_EQ(error_path(R"({"properties": {"a": false}})"), "properties.a | the schema false allows no value");
  EXPECT_EQ(error_path(R"({"$defs": []})"), "$defs | expected an object of schemas");
  EXPECT_TRUE(error_path("{").starts_with(" | not valid JSON"));
  std::string deep = "{}";
  for (int i = 0; i < 100; ++i) deep = R"({"items": )" + deep + "}";
  EXPECT_NE(error_path(deep).find("nested more than 64 schemas deep"), std::string::npos);
}

}  // namespace
}  // namespace turbine
