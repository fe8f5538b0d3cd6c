// The grammar of a forced tool call (src/server/tool_call_grammar.h): whole call texts checked with
// the JSON matcher, for a named function and for "required", in both formats, and the arguments of
// tools whose parameters cannot guide them (none, outside the subset, a $ref that does not resolve,
// not an object schema), which fall back to any object.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "guided/json_matcher.h"
#include "unit/grammar_matches.h"
#include "server/tool_call_grammar.h"

using namespace turbine;
using namespace turbine::server;
using Json = nlohmann::ordered_json;

namespace {

bool matches(const JsonGrammar& g, std::string_view text) { return test::grammar_matches(g, text); }

Json tool(const std::string& name, const char* parameters = nullptr) {
  Json function = {{"name", name}, {"description", "d"}};
  if (parameters) function["parameters"] = Json::parse(parameters);
  return {{"type", "function"}, {"function", function}};
}

const char* kLookup = R"({"type": "object", "properties": {"book": {"$ref": "#/$defs/book"},
  "chapter": {"type": "integer"}, "exact": {"type": "boolean"}}, "required": ["book", "chapter"],
  "$defs": {"book": {"enum": ["Genesis", "Exodus"]}}})";
const char* kCount = R"({"type": "object", "properties": {"book": {"$ref": "#/$defs/book"}},
  "required": ["book"], "$defs": {"book": {"enum": ["John"]}}})";

std::shared_ptr<const JsonGrammar> named(ToolCallFormat format, const Json& tools, const std::string& name) {
  return forced_tool_call_grammar(format, tools, &name);
}

// The grammar of a named function whose tool has `parameters` (null: none).
std::shared_ptr<const JsonGrammar> one_tool(const char* parameters) {
  return named(ToolCallFormat::Qwen, Json::array({tool("f", parameters)}), "f");
}

}  // namespace

TEST(ToolCallGrammar, NamedFunctionIsThatCallWithItsArguments) {
  const Json tools = Json::array({tool("lookup", kLookup), tool("count", kCount)});
  const auto g = named(ToolCallFormat::Qwen, tools, "lookup");
  EXPECT_TRUE(matches(*g, R"({"name": "lookup", "arguments": {"book": "Exodus", "chapter": 3}})"));
  EXPECT_TRUE(matches(*g,
                      "{\"name\":\"lookup\",\n \"arguments\": {\"book\": \"Genesis\", \"chapter\": 1, "
                      "\"exact\": true}}"));
  EXPECT_FALSE(matches(*g, R"({"name": "count", "arguments": {"book": "John"}})"));  // another tool
  EXPECT_FALSE(matches(*g, R"({"name": "lookup", "arguments": {"book": "Exodus", "chapter": "3"}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "lookup", "arguments": {"book": "John", "chapter": 3}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "lookup", "arguments": {"book": "Exodus"}})"));  // chapter is required
  EXPECT_FALSE(matches(*g, R"({"name": "lookup"})"));                                   // arguments are required
  EXPECT_FALSE(matches(*g, R"({"arguments": {"book": "Exodus", "chapter": 3}, "name": "lookup"})"));
  EXPECT_FALSE(matches(*g, R"({"name": "lookup", "arguments": {"book": "Exodus", "chapter": 3}, "id": 1})"));
  EXPECT_FALSE(matches(*g, R"({"name": "lookup", "parameters": {"book": "Exodus", "chapter": 3}})"));
}

TEST(ToolCallGrammar, Llama3CallsTakeParameters) {
  const Json tools = Json::array({tool("lookup", kLookup)});
  const auto g = named(ToolCallFormat::Llama3, tools, "lookup");
  EXPECT_TRUE(matches(*g, R"({"name": "lookup", "parameters": {"book": "Exodus", "chapter": 3}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "lookup", "arguments": {"book": "Exodus", "chapter": 3}})"));
  const auto required = forced_tool_call_grammar(ToolCallFormat::Llama3, tools, nullptr);
  EXPECT_TRUE(matches(*required, R"({"name": "lookup", "parameters": {"book": "Genesis", "chapter": 3}})"));
}

TEST(ToolCallGrammar, RequiredIsAnyDeclaredToolWithItsOwnArguments) {
  // Both tools define "#/$defs/book", differently: each call keeps its own.
  const Json tools = Json::array({tool("lookup", kLookup), tool("count", kCount), tool("plain")});
  const auto g = forced_tool_call_grammar(ToolCallFormat::Qwen, tools, nullptr);
  EXPECT_TRUE(matches(*g, R"({"name": "lookup", "arguments": {"book": "Exodus", "chapter": 3}})"));
  EXPECT_TRUE(matches(*g, R"({"name": "count", "arguments": {"book": "John"}})"));
  EXPECT_TRUE(matches(*g, R"({"name": "plain", "arguments": {"anything": [1, {"x": null}]}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "count", "arguments": {"book": "Exodus"}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "lookup", "arguments": {"book": "John", "chapter": 3}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "lookup", "arguments": {"book": "John"}})"));  // count's arguments
  EXPECT_FALSE(matches(*g, R"({"name": "other", "arguments": {}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "plain", "arguments": []})"));
}

TEST(ToolCallGrammar, NamesAreWrittenAsJsonStrings) {
  const std::string name = "say \"hi\" — 経";
  const auto g = named(ToolCallFormat::Qwen, Json::array({tool(name)}), name);
  EXPECT_TRUE(matches(*g, R"({"name": "say \"hi\" — 経", "arguments": {}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "say", "arguments": {}})"));
}

TEST(ToolCallGrammar, NoParametersTakeAnyObject) {
  const auto g = one_tool(nullptr);
  EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {}})"));
  EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {"a": [1, {"b": "c"}]}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": []})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": null})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": "{}"})"));
}

TEST(ToolCallGrammar, ParametersTheCompilerCannotTakeFallBackToAnyObject) {
  for (const char* parameters : {
           R"({"type": "object", "properties": {"n": {"type": "integer", "not": {"const": 1}}}, "required": ["n"]})",
           R"({"type": "object", "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}}})",
           R"({"type": "object", "properties": {"s": {"type": "string", "pattern": "(?=a)b"}}})",
           R"({"type": "object", "properties": {"s": {"type": "string", "format": "color"}}})",
           R"({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}})",
           R"({"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}})",
           R"({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]})",
       }) {
    SCOPED_TRACE(parameters);
    const auto g = one_tool(parameters);
    EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {}})"));
    EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {"n": "not a number", "s": 5}})"));
    EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": 1})"));
    EXPECT_FALSE(matches(*g, R"({"name": "g", "arguments": {}})"));
  }
}

TEST(ToolCallGrammar, BoundsTuplesAndAllOfGuideTheArguments) {
  // Keywords Pydantic writes for constrained fields: the arguments follow them.
  const auto g = one_tool(R"({"type": "object", "properties": {
    "n": {"type": "integer", "minimum": 1, "maximum": 10},
    "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "span": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "integer"}], "minItems": 2, "maxItems": 2},
    "at": {"allOf": [{"$ref": "#/$defs/place"}], "description": "where"}},
    "required": ["n"], "$defs": {"place": {"enum": ["home", "away"]}}})");
  EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {"n": 10, "ratio": 0.5, "span": [1, 2], "at": "home"}})"));
  EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {"n": 1}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": {"n": 11}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": {"n": 0}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": {"n": 5, "ratio": 1}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": {"n": 5, "span": [1]}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": {"n": 5, "at": "there"}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": {"anything": 1}})"));
}

TEST(ToolCallGrammar, StringKeywordsGuideTheArguments) {
  const auto g = one_tool(R"({"type": "object", "properties": {"day": {"type": "string", "format": "date"},
    "code": {"type": "string", "pattern": "^[A-Z]{2}$", "maxLength": 2}}, "required": ["day", "code"]})");
  EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {"day": "2024-01-31", "code": "AB"}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": {"day": "yesterday", "code": "AB"}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": {"day": "2024-01-31", "code": "ABC"}})"));
}

TEST(ToolCallGrammar, SchemasThatAllowOtherValuesTakeAnyObject) {
  // The parser reads only object arguments: a schema that lets other values through cannot guide them.
  for (const char* parameters : {"{}", R"({"description": "no type"})", R"({"type": "string"})",
                                 R"({"type": ["object", "null"], "properties": {"a": {"type": "integer"}}})",
                                 R"({"anyOf": [{"type": "object"}, {"type": "array"}]})"}) {
    SCOPED_TRACE(parameters);
    const auto g = one_tool(parameters);
    EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {"a": "x"}})"));
    EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": null})"));
    EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": []})"));
  }
  // Alternatives that are all objects still guide.
  const auto g = one_tool(R"({"anyOf": [{"$ref": "#/$defs/a"}, {"type": "object", "properties": {"b": {"type":
    "boolean"}}, "required": ["b"]}], "$defs": {"a": {"type": "object", "properties": {"a": {"type": "integer"}},
    "required": ["a"]}}})");
  EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {"a": 1}})"));
  EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {"b": false}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": {"a": "x"}})"));
}

TEST(ToolCallGrammar, ARefToTheParametersRootStaysInsideThem) {
  const auto g = one_tool(R"({"type": "object", "properties": {"child": {"$ref": "#"}, "n": {"type": "integer"}}})");
  EXPECT_TRUE(matches(*g, R"({"name": "f", "arguments": {"child": {"child": {"n": 1}}}})"));
  EXPECT_FALSE(matches(*g, R"({"name": "f", "arguments": {"child": {"name": "f", "arguments": {}}}})"));
}

TEST(ToolCallGrammar, EqualToolsGiveEqualGrammars) {
  // Requests with the same tools share one mask cache (guided_mask_caches.h).
  const Json tools = Json::array({tool("lookup", kLookup), tool("count", kCount)});
  EXPECT_EQ(*forced_tool_call_grammar(ToolCallFormat::Qwen, tools, nullptr),
            *forced_tool_call_grammar(ToolCallFormat::Qwen, tools, nullptr));
  EXPECT_FALSE(*named(ToolCallFormat::Qwen, tools, "lookup") == *named(ToolCallFormat::Qwen, tools, "count"));
}
