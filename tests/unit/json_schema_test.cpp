// The JSON Schema subset: what each keyword lets through (checked with the matcher over whole
// texts), and the error, with its path, for everything outside the subset or invalid.
#include <gtest/gtest.h>

#include "guided/json_matcher.h"
#include "unit/grammar_matches.h"
#include "unit/schema_error_path.h"
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

std::string error_path(std::string_view schema) { return test::schema_error_path(schema); }

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

// Every keyword applies to an enum's or a const's values: those the type, numeric and string keywords
// beside it reject are left out, each kind of keyword judging only its own kind of value.
TEST(JsonSchema, EnumAndConstKeepTheValuesTheOtherKeywordsAllow) {
  const auto typed = compile_json_schema(R"({"type": "string", "enum": ["a", 1, null, "b"]})");
  EXPECT_TRUE(matches(*typed, R"("a")"));
  EXPECT_TRUE(matches(*typed, R"("b")"));
  EXPECT_FALSE(matches(*typed, "1"));
  EXPECT_FALSE(matches(*typed, "null"));
  const auto nullable = compile_json_schema(R"({"type": "string", "nullable": true, "enum": ["a", null, 2]})");
  EXPECT_TRUE(matches(*nullable, "null"));
  EXPECT_FALSE(matches(*nullable, "2"));
  const auto bounded = compile_json_schema(R"({"enum": [1, 2, 3, "x", 2.5], "minimum": 2})");
  EXPECT_FALSE(matches(*bounded, "1"));
  EXPECT_TRUE(matches(*bounded, "2"));
  EXPECT_TRUE(matches(*bounded, "2.5"));
  EXPECT_TRUE(matches(*bounded, R"("x")"));  // minimum does not apply to a string
  const auto integers = compile_json_schema(R"({"type": "integer", "enum": [2, 3, 4, 6], "multipleOf": 2})");
  EXPECT_TRUE(matches(*integers, "4"));
  EXPECT_FALSE(matches(*integers, "3"));
  const auto strings = compile_json_schema(R"({"enum": ["ab", "abcd", "b", 7], "maxLength": 3, "pattern": "^a"})");
  EXPECT_TRUE(matches(*strings, R"("ab")"));
  EXPECT_FALSE(matches(*strings, R"("abcd")"));
  EXPECT_FALSE(matches(*strings, R"("b")"));
  EXPECT_TRUE(matches(*strings, "7"));  // nor string keywords to a number
  const auto constant = compile_json_schema(R"({"const": "2024-01-05", "format": "date"})");
  EXPECT_TRUE(matches(*constant, R"("2024-01-05")"));
  // Object keywords are not applied to the values; the type is.
  const auto objects = compile_json_schema(R"({"type": "object", "properties": {"a": {"type": "integer"}},
    "enum": [{"b": 1}, [1]]})");
  EXPECT_TRUE(matches(*objects, R"({"b":1})"));
  EXPECT_FALSE(matches(*objects, "[1]"));
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

TEST(JsonSchema, NumericBoundsAndMultiples) {
  const auto g = compile_json_schema(R"({"type": "object", "properties": {
    "age": {"type": "integer", "minimum": 0, "maximum": 130},
    "score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.0},
    "step": {"type": "integer", "multipleOf": 5},
    "old": {"type": "number", "minimum": -1.25, "exclusiveMinimum": true, "maximum": 2, "exclusiveMaximum": false}},
    "required": ["age", "score"]})");
  EXPECT_TRUE(matches(*g, R"({"age": 0, "score": 0.5})"));
  EXPECT_TRUE(matches(*g, R"({"age": 130, "score": 0.99999, "step": -15})"));
  EXPECT_FALSE(matches(*g, R"({"age": 7, "score": 1e-3})"));  // a bounded number has no exponent
  EXPECT_FALSE(may_begin(*g, R"({"age": 131)"));
  EXPECT_FALSE(may_begin(*g, R"({"age": -)"));  // no negative zero where no value is negative
  EXPECT_FALSE(may_begin(*g, R"({"age": 1300)"));
  EXPECT_FALSE(matches(*g, R"({"age": 5, "score": 0})"));
  EXPECT_FALSE(matches(*g, R"({"age": 5, "score": 1})"));
  EXPECT_FALSE(may_begin(*g, R"({"age": 5, "score": 1.)"));
  EXPECT_FALSE(may_begin(*g, R"({"age": 5, "score": 0.5, "step": 12,)"));
  EXPECT_TRUE(matches(*g, R"({"age": 5, "score": 0.5, "old": -1.2})"));
  EXPECT_TRUE(matches(*g, R"({"age": 5, "score": 0.5, "old": 2})"));
  EXPECT_FALSE(matches(*g, R"({"age": 5, "score": 0.5, "old": -1.25})"));  // draft 4: exclusiveMinimum true
  // On a type list the bounds constrain the numbers alone; on other types they mean nothing.
  const auto or_null = compile_json_schema(R"({"type": ["integer", "null"], "minimum": 10, "maximum": 20})");
  EXPECT_TRUE(matches(*or_null, "null"));
  EXPECT_TRUE(matches(*or_null, "10"));
  EXPECT_FALSE(may_begin(*or_null, "9"));
  const auto text = compile_json_schema(R"({"type": "string", "minimum": 3})");
  EXPECT_TRUE(matches(*text, R"("a")"));
  const auto untyped = compile_json_schema(R"({"maximum": 2.5})");
  EXPECT_TRUE(matches(*untyped, "2.5"));
  EXPECT_FALSE(may_begin(*untyped, "3"));
  EXPECT_FALSE(may_begin(*untyped, "\""));
  // Bounds are part of the grammar's identity (mask caches are shared by equal grammars).
  EXPECT_EQ(*compile_json_schema(R"({"type": "integer", "minimum": 1})"),
            *compile_json_schema(R"({"type": "integer", "minimum": 1, "title": "t"})"));
  EXPECT_FALSE(*compile_json_schema(R"({"type": "integer", "minimum": 1})") ==
               *compile_json_schema(R"({"type": "integer", "minimum": 2})"));
  EXPECT_FALSE(*compile_json_schema(R"({"type": "integer", "multipleOf": 2})") ==
               *compile_json_schema(R"({"type": "integer", "multipleOf": 3})"));
}

TEST(JsonSchema, TuplesByPrefixItems) {
  // Pydantic's tuple[int, str].
  const auto pair = compile_json_schema(R"({"type": "array", "prefixItems": [{"type": "integer"},
    {"type": "string"}], "minItems": 2, "maxItems": 2})");
  EXPECT_TRUE(matches(*pair, R"([1, "a"])"));
  EXPECT_FALSE(matches(*pair, "[1]"));
  EXPECT_FALSE(may_begin(*pair, R"(["a")"));
  EXPECT_FALSE(may_begin(*pair, R"([1, "a",)"));
  // The rest: items (false = none; absent = any values).
  const auto closed =
      compile_json_schema(R"({"prefixItems": [{"type": "boolean"}, {"type": "null"}], "items": false})");
  EXPECT_TRUE(matches(*closed, "[]"));
  EXPECT_TRUE(matches(*closed, "[true]"));
  EXPECT_TRUE(matches(*closed, "[true, null]"));
  EXPECT_FALSE(may_begin(*closed, "[true, null,"));
  const auto rest = compile_json_schema(R"({"type": "array", "prefixItems": [{"type": "string"}],
    "items": {"type": "integer", "minimum": 0}, "minItems": 1})");
  EXPECT_TRUE(matches(*rest, R"(["a", 1, 2, 3])"));
  EXPECT_FALSE(matches(*rest, "[]"));
  EXPECT_FALSE(may_begin(*rest, R"(["a", "b")"));
  EXPECT_FALSE(may_begin(*rest, R"(["a", -)"));
  const auto open = compile_json_schema(R"({"type": "array", "prefixItems": [{"type": "string"}]})");
  EXPECT_TRUE(matches(*open, R"(["a", 1, {"x": null}])"));
  // The tuple form before draft 2020-12: items as an array, additionalItems the rest.
  const auto draft4 = compile_json_schema(R"({"type": "array", "items": [{"type": "integer"}, {"type": "string"}],
    "additionalItems": false, "minItems": 2})");
  EXPECT_TRUE(matches(*draft4, R"([1, "a"])"));
  EXPECT_FALSE(may_begin(*draft4, R"([1, "a",)"));
  const auto draft4_open = compile_json_schema(R"({"items": [{"type": "integer"}]})");
  EXPECT_TRUE(matches(*draft4_open, R"([1, "a", null])"));
  const auto none = compile_json_schema(R"({"type": "array", "items": false})");
  EXPECT_TRUE(matches(*none, "[]"));
  EXPECT_FALSE(may_begin(*none, "[1"));
}

TEST(JsonSchema, AllOfWithOneSchemaIsThatSchema) {
  const auto g = compile_json_schema(R"({"type": "object", "properties": {
    "p": {"allOf": [{"$ref": "#/$defs/Point"}], "description": "where", "default": {"x": 0}}},
    "required": ["p"], "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}},
    "required": ["x"], "additionalProperties": false}}})");
  EXPECT_TRUE(matches(*g, R"({"p": {"x": 3}})"));
  EXPECT_FALSE(matches(*g, R"({"p": {}})"));
  const auto self = compile_json_schema(R"({"type": "array", "items": {"allOf": [{"$ref": "#"}]}, "maxItems": 1})");
  EXPECT_TRUE(matches(*self, "[[[]]]"));
}

TEST(JsonSchema, NullableAddsNullAndMoreAnnotationsAreIgnored) {
  const auto g = compile_json_schema(R"({"$id": "https://example.com/m.json", "type": "object", "properties": {
    "a": {"type": "integer", "nullable": true, "deprecated": true, "readOnly": true, "writeOnly": false},
    "b": {"type": ["string", "null"], "nullable": true},
    "c": {"type": "string", "nullable": false}}, "required": ["a", "b", "c"]})");
  EXPECT_TRUE(matches(*g, R"({"a": null, "b": null, "c": "x"})"));
  EXPECT_TRUE(matches(*g, R"({"a": 1, "b": "y", "c": "x"})"));
  EXPECT_FALSE(matches(*g, R"({"a": 1, "b": "y", "c": null})"));
}

TEST(JsonSchema, PydanticModelSchema) {
  // What model_json_schema() gives for a model with constrained fields, a tuple and a nested model.
  const auto g = compile_json_schema(R"({"$defs": {"Point": {"properties": {"x": {"title": "X", "type": "number"},
    "y": {"title": "Y", "type": "number"}}, "required": ["x", "y"], "title": "Point", "type": "object"}},
    "properties": {"age": {"maximum": 130, "minimum": 0, "title": "Age", "type": "integer"},
    "score": {"exclusiveMaximum": 1.0, "exclusiveMinimum": 0.0, "title": "Score", "type": "number"},
    "pair": {"maxItems": 2, "minItems": 2, "prefixItems": [{"type": "integer"}, {"type": "string"}],
      "title": "Pair", "type": "array"},
    "where": {"allOf": [{"$ref": "#/$defs/Point"}], "description": "the place"},
    "tag": {"anyOf": [{"multipleOf": 5, "type": "integer"}, {"type": "null"}], "default": null, "title": "Tag"}},
    "required": ["age", "score", "pair", "where"], "title": "M", "type": "object"})");
  EXPECT_TRUE(matches(*g, R"({"age": 30, "score": 0.25, "pair": [1, "a"], "where": {"x": 1, "y": -2.5e3}})"));
  EXPECT_TRUE(matches(*g, R"({"age": 30, "score": 0.25, "pair": [1, "a"], "where": {"x": 1, "y": 2}, "tag": 35})"));
  EXPECT_TRUE(matches(*g, R"({"age": 30, "score": 0.25, "pair": [1, "a"], "where": {"x": 1, "y": 2}, "tag": null})"));
  EXPECT_FALSE(may_begin(*g, R"({"age": 30, "score": 0.25, "pair": [1, "a"], "where": {"x": 1, "y": 2}, "tag": 36})"));
}

TEST(JsonSchema, NumericAndStringKeywordsEachConstrainTheirBranch) {
  // One type list with bounds and string keywords: each holds its own branch, neither the other's.
  const auto g = compile_json_schema(
      R"({"type": ["integer", "string", "null"], "minimum": 1, "maximum": 9, "pattern": "^[a-c]+$", "maxLength": 2})");
  for (const char* ok : {"1", "9", R"("ab")", R"("c")", "null"}) EXPECT_TRUE(matches(*g, ok)) << ok;
  for (const char* bad : {"0", "10", R"("abc")", R"("d")", R"("")"}) EXPECT_FALSE(matches(*g, bad)) << bad;
  // A Pydantic model with both kinds of constrained fields.
  const auto m = compile_json_schema(R"({"properties": {"qty": {"type": "integer", "exclusiveMinimum": 0},
    "sku": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{3}$"}, "day": {"type": "string", "format": "date"}},
    "required": ["qty", "sku", "day"], "type": "object"})");
  EXPECT_TRUE(matches(*m, R"({"qty": 3, "sku": "AB123", "day": "2026-12-07"})"));
  EXPECT_FALSE(matches(*m, R"({"qty": 0, "sku": "AB123", "day": "2026-12-07"})"));
  EXPECT_FALSE(matches(*m, R"({"qty": 3, "sku": "AB12", "day": "2026-12-07"})"));
  EXPECT_FALSE(matches(*m, R"({"qty": 3, "sku": "AB123", "day": "07.12.2026"})"));
}

TEST(JsonSchema, NumericAndTupleErrorsNameTheirKeyword) {
  EXPECT_EQ(error_path(R"({"type": "integer", "minimum": "0"})"), "minimum | expected a number");
  EXPECT_EQ(error_path(R"({"properties": {"n": {"type": "integer", "minimum": 5, "maximum": 3}}})"),
            "properties.n.maximum | leaves no integer within the bounds");
  EXPECT_EQ(error_path(R"({"type": "integer", "minimum": 2.2, "maximum": 2.8})"),
            "maximum | leaves no integer within the bounds");
  EXPECT_EQ(error_path(R"({"type": "integer", "exclusiveMinimum": 3, "exclusiveMaximum": 4})"),
            "exclusiveMaximum | leaves no integer within the bounds");
  EXPECT_EQ(error_path(R"({"type": "number", "minimum": 1, "maximum": 0.5})"),
            "maximum | leaves no number within the bounds (a bounded number is written without an exponent, with "
            "at most 15 digits)");
  EXPECT_EQ(error_path(R"({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1e-20})"),
            "exclusiveMaximum | leaves no number within the bounds (a bounded number is written without an "
            "exponent, with at most 15 digits)");
  EXPECT_EQ(error_path(R"({"type": "number", "minimum": 1e20})"),
            "minimum | leaves no number within the bounds (a bounded number is written without an exponent, with "
            "at most 15 digits)");
  EXPECT_EQ(error_path(R"({"type": "integer", "minimum": 1, "maximum": 4, "multipleOf": 5})"),
            "multipleOf | no multiple of it lies within the bounds");
  EXPECT_EQ(error_path(R"({"type": "number", "multipleOf": 0.5})"),
            "multipleOf | multipleOf is supported on integers only");
  for (const char* m : {"0", "-5", "2.5", "\"5\""})
    EXPECT_EQ(error_path(fmt::format(R"({{"type": "integer", "multipleOf": {}}})", m)),
              m == std::string_view("\"5\"")
                  ? "multipleOf | expected a number"
                  : "multipleOf | expected a positive integer (on an integer, only a multiple of an integer is "
                    "supported)")
        << m;
  EXPECT_EQ(error_path(R"({"type": "integer", "multipleOf": 3e9})"),
            "multipleOf | a multipleOf above 2147483647 is not supported");
  EXPECT_EQ(error_path(R"({"type": "integer", "minimum": 1e20})"),
            "minimum | integer bounds beyond +-18446744073709551615 are not supported");
  EXPECT_EQ(error_path(R"({"type": "integer", "maximum": -18446744073709551616})"),
            "maximum | integer bounds beyond +-18446744073709551615 are not supported");
  EXPECT_EQ(error_path(R"({"type": "integer", "exclusiveMinimum": true})"),
            "exclusiveMinimum | exclusiveMinimum true needs minimum beside it");
  EXPECT_EQ(error_path(R"({"enum": [1, 2], "minimum": 3})"),
            "enum | no value of enum satisfies the schema's other keywords");
  EXPECT_EQ(error_path(R"({"const": 5, "maximum": 4})"),
            "const | no value of const satisfies the schema's other keywords");
  EXPECT_EQ(error_path(R"({"type": "integer", "enum": ["x", 1.5]})"),
            "enum | no value of enum satisfies the schema's other keywords");
  EXPECT_EQ(error_path(R"({"enum": [1], "minimum": 3, "maximum": 2})"),
            "maximum | leaves no number within the bounds (a bounded number is written without an exponent, with at "
            "most 15 digits)");
  EXPECT_EQ(error_path(R"({"prefixItems": []})"), "prefixItems | expected a non-empty array of schemas");
  EXPECT_EQ(error_path(R"({"prefixItems": [{"type": "integer"}, {"type": "text"}]})"),
            "prefixItems[1].type | unknown type \"text\" (expected string, number, integer, boolean, null, object or "
            "array)");
  EXPECT_EQ(error_path(R"({"prefixItems": [{}], "items": [{}]})"),
            "items | an array of schemas beside prefixItems (write the rest as one schema)");
  EXPECT_EQ(error_path(R"({"prefixItems": [{}], "additionalItems": false})"),
            "additionalItems | additionalItems applies only beside items as an array (after prefixItems, write the "
            "rest as items)");
  EXPECT_EQ(error_path(R"({"prefixItems": [{}, {}], "items": false, "minItems": 3})"),
            "minItems | is more than the 2 items the array may hold");
  EXPECT_EQ(error_path(R"({"allOf": [{"type": "string"}, {"type": "string"}]})"),
            "allOf | allOf with more than one schema is not supported");
  EXPECT_EQ(error_path(R"({"allOf": [{"type": "string"}], "type": "string"})"),
            "allOf | allOf together with \"type\" is not supported");
  EXPECT_EQ(error_path(R"({"allOf": []})"), "allOf | expected a non-empty array of schemas");
  EXPECT_EQ(error_path(R"({"allOf": [{"not": {}}]})"), "allOf[0].not | unsupported keyword \"not\"");
  EXPECT_EQ(error_path(R"({"properties": {"a": {"$id": "x", "type": "string"}}})"),
            "properties.a.$id | \"$id\" is supported only on the root schema");
  EXPECT_EQ(error_path(R"({"type": "string", "nullable": "yes"})"), "nullable | expected a boolean");
  EXPECT_EQ(error_path(R"({"$anchor": "a"})"), "$anchor | unsupported keyword \"$anchor\"");
}

TEST(JsonSchema, ErrorsNameTheKeywordAndItsPath) {
  EXPECT_EQ(error_path(R"({"properties": {"name": {"type": "string", "not": {"const": ""}}}})"),
            "properties.name.not | unsupported keyword \"not\"");
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
