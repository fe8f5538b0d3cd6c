// The string keywords of the schema subset (minLength, maxLength, pattern, format): what a schema
// with them lets through (checked with the matcher over whole texts), the errors with their paths,
// and the grammar's automata kept right by equality and embedding.
#include <gtest/gtest.h>

#include "guided/json_schema.h"
#include "guided/string_formats.h"
#include "unit/grammar_matches.h"
#include "unit/schema_error_path.h"

namespace turbine {
namespace {

bool matches(const JsonGrammar& g, std::string_view text) { return test::grammar_matches(g, text); }

std::string error_path(std::string_view schema) { return test::schema_error_path(schema); }

TEST(StringSchema, APydanticModelSchemaGuides) {
  // What Pydantic's model_json_schema() writes for constr/EmailStr/date/UUID/HttpUrl fields.
  const auto g = compile_json_schema(R"({"title": "Order", "type": "object", "properties": {
    "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$", "title": "Code"},
    "email": {"type": "string", "format": "email"},
    "day": {"type": "string", "format": "date"},
    "id": {"type": "string", "format": "uuid"},
    "site": {"type": "string", "format": "uri", "minLength": 1, "maxLength": 2083},
    "note": {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}], "default": null}},
    "required": ["code", "email", "day", "id"]})");
  EXPECT_TRUE(matches(*g, R"({"code": "ABC-12", "email": "a@b.co", "day": "2024-01-31",
    "id": "123e4567-e89b-12d3-a456-426614174000", "site": "https://x.io/a", "note": "short"})"));
  EXPECT_TRUE(matches(*g, R"({"code": "XYZ-00", "email": "a@b.co", "day": "2024-01-31",
    "id": "123e4567-e89b-12d3-a456-426614174000", "note": null})"));
  const std::string rest = R"(, "email": "a@b.co", "day": "2024-01-31", "id": "123e4567-e89b-12d3-a456-426614174000"})";
  EXPECT_FALSE(matches(*g, R"({"code": "ABC-123")" + rest));
  EXPECT_FALSE(matches(*g, R"({"code": "abc-12")" + rest));
  EXPECT_FALSE(matches(*g, R"({"code": "ABC-12", "email": "ab.co", "day": "2024-01-31",
    "id": "123e4567-e89b-12d3-a456-426614174000"})"));
  EXPECT_FALSE(matches(*g, R"({"code": "ABC-12", "email": "a@b.co", "day": "2024-01-31",
    "id": "123e4567-e89b-12d3-a456-426614174000", "note": "too long"})"));
}

TEST(StringSchema, KeywordsApplyToStringsOnly) {
  // Beside other types the keywords constrain the string branch; on a type without one they are
  // ignored (as JSON Schema has it: OpenAPI writes "format": "int32" on integers).
  const auto integer = compile_json_schema(R"({"type": "integer", "format": "int32", "maxLength": 1})");
  EXPECT_TRUE(matches(*integer, "12345"));
  const auto nullable = compile_json_schema(R"({"type": ["null", "string"], "minLength": 2, "pattern": "b"})");
  EXPECT_TRUE(matches(*nullable, "null"));
  EXPECT_TRUE(matches(*nullable, R"("ab")"));
  EXPECT_FALSE(matches(*nullable, R"("b")"));
  EXPECT_FALSE(matches(*nullable, R"("aa")"));
  // Without a type, string keywords make it a string, as properties make an object.
  const auto untyped = compile_json_schema(R"({"maxLength": 2})");
  EXPECT_TRUE(matches(*untyped, R"("ab")"));
  EXPECT_FALSE(matches(*untyped, R"("abc")"));
  EXPECT_FALSE(matches(*untyped, "1"));
  // minLength 0 and no other keyword: any string.
  EXPECT_EQ(compile_json_schema(R"({"type": "string", "minLength": 0})")->root(), JsonGrammar::kString);
}

TEST(StringSchema, PatternAndFormatTogetherMustBothHold) {
  const auto g = compile_json_schema(R"({"type": "string", "format": "date", "pattern": "^2024-"})");
  EXPECT_TRUE(matches(*g, R"("2024-02-29")"));
  EXPECT_FALSE(matches(*g, R"("2023-02-28")"));
  EXPECT_FALSE(matches(*g, R"("2024-")"));
}

TEST(StringSchema, ErrorsNameTheKeywordAndItsPath) {
  EXPECT_EQ(error_path(R"({"properties": {"code": {"type": "string", "pattern": "a(?=b)c"}}})"),
            "properties.code.pattern | lookahead \"(?=\" is not supported (at character 1)");
  EXPECT_EQ(error_path(R"({"type": "string", "pattern": "\\bx"})"),
            "pattern | a word boundary \"\\b\" is not supported (at character 0)");
  EXPECT_EQ(error_path(R"({"type": "string", "pattern": 3})"), "pattern | expected a string (a regular expression)");
  EXPECT_EQ(error_path(R"({"type": "string", "pattern": "^[]$"})"), "pattern | the pattern matches no string");
  EXPECT_EQ(error_path(R"({"type": "string", "pattern": "(a|b)*a(a|b){14}"})"),
            "pattern | the pattern's automaton would have over 8192 states");
  EXPECT_EQ(
      error_path(R"({"items": {"type": "string", "format": "color"}})"),
      std::string("items.format | unknown format \"color\" (supported: ") + std::string(supported_formats()) + ")");
  EXPECT_EQ(error_path(R"({"type": "string", "format": 1})"), "format | expected a string");
  EXPECT_EQ(error_path(R"({"type": "string", "format": "date", "pattern": "^x"})"),
            "format | no string matches both the pattern and the format");
  EXPECT_EQ(error_path(R"({"type": "string", "pattern": "^[a-z]{5}$", "maxLength": 3})"),
            "maxLength | no string of at most 3 characters matches the pattern");
  EXPECT_EQ(error_path(R"({"type": "string", "format": "uuid", "maxLength": 35})"),
            "maxLength | no string of at most 35 characters matches the format");
  EXPECT_EQ(error_path(R"({"type": "string", "pattern": "^a{2}$", "minLength": 3})"),
            "minLength | no string of at least 3 characters matches the pattern");
  EXPECT_EQ(error_path(R"({"type": "string", "minLength": 10000})"),
            "minLength | too large: the automaton would have over 8192 states");
  EXPECT_EQ(error_path(R"({"type": "string", "minLength": -1})"), "minLength | expected a non-negative integer");
  EXPECT_EQ(error_path(R"({"type": "string", "maxLength": 1.5})"), "maxLength | expected a non-negative integer");
  EXPECT_EQ(error_path(R"({"type": "string", "minLength": 3, "maxLength": 2})"), "maxLength | is less than minLength");
  EXPECT_EQ(error_path(R"({"$ref": "#/$defs/a", "pattern": "x", "$defs": {"a": {}}})"),
            "$ref | $ref together with \"pattern\" is not supported");
}

TEST(StringSchema, EqualSchemasGiveEqualGrammarsAndEmbeddingKeepsEachPattern) {
  const char* text = R"({"type": "object", "properties": {"a": {"type": "string", "pattern": "^a+$"},
    "b": {"type": "string", "format": "date", "maxLength": 10}}})";
  EXPECT_EQ(*compile_json_schema(text), *compile_json_schema(text));
  EXPECT_NE(*compile_json_schema(R"({"type": "string", "pattern": "^a+$"})"),
            *compile_json_schema(R"({"type": "string", "pattern": "^b+$"})"));
  EXPECT_NE(*compile_json_schema(R"({"type": "string", "pattern": "^a+$", "maxLength": 3})"),
            *compile_json_schema(R"({"type": "string", "pattern": "^a+$", "maxLength": 4})"));
  // Both grammars hold their automaton at the same index: embedded side by side, each keeps its own.
  const auto as = compile_json_schema(R"({"type": "string", "pattern": "^a+$"})");
  const auto bs = compile_json_schema(R"({"type": "string", "pattern": "^b+$", "maxLength": 2})");
  const auto again = compile_json_schema(R"({"type": "array", "items": {"type": "string", "pattern": "^a+$"}})");
  JsonGrammar g;
  JsonNode pair;
  pair.kind = JsonNodeKind::Object;
  pair.properties = {{"\"a\"", g.embed(*as), true}, {"\"b\"", g.embed(*bs), true}, {"\"c\"", g.embed(*again), true}};
  g.set_root(g.add(std::move(pair)));
  EXPECT_TRUE(matches(g, R"({"a": "aaa", "b": "bb", "c": ["a"]})"));
  EXPECT_FALSE(matches(g, R"({"a": "bbb", "b": "bb", "c": ["a"]})"));
  EXPECT_FALSE(matches(g, R"({"a": "aaa", "b": "aa", "c": ["a"]})"));
  EXPECT_FALSE(matches(g, R"({"a": "aaa", "b": "bbb", "c": ["a"]})"));
  EXPECT_FALSE(matches(g, R"({"a": "aaa", "b": "bb", "c": ["b"]})"));
  // The first and third share one automaton.
  EXPECT_EQ(g.node(g.node(g.root()).properties[0].value).dfa,
            g.node(g.node(g.node(g.root()).properties[2].value).items).dfa);
}

}  // namespace
}  // namespace turbine
