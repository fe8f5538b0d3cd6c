// JsonGrammar::embed: separately compiled grammars become parts of one, each keeping what its own
// nodes and $refs meant (the grammar of a forced tool call is put together this way).
#include <gtest/gtest.h>

#include "guided/json_matcher.h"
#include "unit/grammar_matches.h"
#include "guided/json_schema.h"

namespace turbine {
namespace {

bool matches(const JsonGrammar& g, std::string_view text) { return test::grammar_matches(g, text); }

// [first, second] as one grammar: an array of two items of either embedded grammar.
JsonGrammar pair_of(const JsonGrammar& first, const JsonGrammar& second) {
  JsonGrammar g;
  JsonNode either;
  either.kind = JsonNodeKind::AnyOf;
  either.alternatives = {g.embed(first), g.embed(second)};
  JsonNode array;
  array.kind = JsonNodeKind::Array;
  array.items = g.add(std::move(either));
  array.min_items = array.max_items = 2;
  g.set_root(g.add(std::move(array)));
  return g;
}

TEST(JsonGrammarEmbed, EachPartKeepsItsOwnRefsAndNodes) {
  // Both define "#/$defs/item" differently, and both recurse through "#": after embedding, each
  // reference still means its own schema.
  const auto books = compile_json_schema(R"({"type": "object", "properties": {
    "book": {"$ref": "#/$defs/item"}, "next": {"$ref": "#"}}, "required": ["book"],
    "$defs": {"item": {"enum": ["Genesis", "Exodus"]}}})");
  const auto counts = compile_json_schema(R"({"type": "array", "items": {"anyOf": [{"$ref": "#/$defs/item"},
    {"$ref": "#"}]}, "maxItems": 2, "$defs": {"item": {"type": "integer"}}})");
  const JsonGrammar g = pair_of(*books, *counts);
  EXPECT_TRUE(matches(g, R"([{"book": "Exodus", "next": {"book": "Genesis"}}, [1, [2, []]]])"));
  EXPECT_TRUE(matches(g, R"([[], {"book": "Genesis"}])"));
  EXPECT_FALSE(matches(g, R"([{"book": 1}, []])"));  // the other's item
  EXPECT_FALSE(matches(g, R"([{"book": "Genesis"}, ["Exodus"]])"));
  EXPECT_FALSE(matches(g, R"([{"book": "Genesis", "next": []}, []])"));  // "#" is its own root
  EXPECT_FALSE(matches(g, R"([[1, 2, 3], []])"));                        // maxItems kept
}

TEST(JsonGrammarEmbed, TuplesAndBoundsMoveWithTheirNodes) {
  // prefixItems point at the embedded grammar's own nodes; a ranged node keeps its bounds.
  const auto tuple = compile_json_schema(R"({"type": "array", "prefixItems": [{"$ref": "#/$defs/small"},
    {"enum": ["a", "b"]}], "items": false, "minItems": 2, "$defs": {"small": {"type": "integer", "minimum": 1,
    "maximum": 3}}})");
  const auto bounded = compile_json_schema(R"({"type": "object", "properties": {"n": {"type": "number",
    "exclusiveMinimum": 0, "maximum": 0.5}}, "required": ["n"]})");
  const JsonGrammar g = pair_of(*bounded, *tuple);
  EXPECT_TRUE(matches(g, R"([{"n": 0.5}, [3, "b"]])"));
  EXPECT_TRUE(matches(g, R"([[1, "a"], {"n": 0.01}])"));
  EXPECT_FALSE(matches(g, R"([{"n": 0}, [3, "b"]])"));
  EXPECT_FALSE(matches(g, R"([{"n": 0.5}, [4, "b"]])"));
  EXPECT_FALSE(matches(g, R"([{"n": 0.5}, [3, "c"]])"));
  EXPECT_FALSE(matches(g, R"([{"n": 0.5}, [3, "b", 1]])"));
  EXPECT_FALSE(matches(g, R"([{"n": 0.5}, [3]])"));
}

TEST(JsonGrammarEmbed, AGrammarOfOnlyFixedNodesIsItsRoot) {
  JsonGrammar g;
  EXPECT_EQ(g.embed(*json_object_grammar()), JsonGrammar::kAnyObject);
  EXPECT_EQ(g.size(), size_t(JsonGrammar::kFixedNodes));
  EXPECT_EQ(g.embed(*compile_json_schema(R"({"type": "string"})")), JsonGrammar::kString);
}

}  // namespace
}  // namespace turbine
