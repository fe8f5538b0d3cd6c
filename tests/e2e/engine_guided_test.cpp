// Guided decoding through the engine on kjv-llama (CPU): json_object and json_schema outputs parse
// and follow their grammar, end with finish reason stop (or length when max_new_tokens cuts them),
// and unguided requests batched beside guided ones generate exactly what they do alone.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/engine_test_util.h"
#include "engine/engine.h"
#include "guided/json_schema.h"

namespace turbine::test {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kPersonSchema = R"({"type": "object", "properties": {
  "answer": {"enum": ["yes", "no", "maybe"]},
  "count": {"type": "integer"},
  "sure": {"type": "boolean"},
  "tags": {"type": "array", "items": {"enum": ["law", "grace", "peace"]}, "minItems": 1, "maxItems": 2},
  "note": {"type": "null"}},
  "required": ["answer", "sure", "tags"], "additionalProperties": false})";

class GuidedEngine : public KjvEngineSuite {
 protected:
  // The output checked against kPersonSchema by hand (the matcher is not the judge of itself).
  static void expect_person(const std::string& text) {
    const json v = json::parse(text);
    ASSERT_TRUE(v.is_object()) << text;
    const std::vector<std::string> order = {"answer", "count", "sure", "tags", "note"};
    size_t next = 0;
    for (const auto& [key, value] : v.items()) {
      while (next < order.size() && order[next] != key) ++next;
      ASSERT_LT(next, order.size()) << "unknown or out-of-order key " << key << " in " << text;
    }
    ASSERT_TRUE(v.contains("answer") && v.contains("sure") && v.contains("tags")) << text;
    EXPECT_TRUE(v["answer"] == "yes" || v["answer"] == "no" || v["answer"] == "maybe") << text;
    if (v.contains("count")) {
      EXPECT_TRUE(v["count"].is_number_integer()) << text;
    }
    EXPECT_TRUE(v["sure"].is_boolean()) << text;
    ASSERT_TRUE(v["tags"].is_array()) << text;
    EXPECT_GE(v["tags"].size(), 1u);
    EXPECT_LE(v["tags"].size(), 2u);
    for (const json& t : v["tags"]) EXPECT_TRUE(t == "law" || t == "grace" || t == "peace") << text;
    if (v.contains("note")) {
      EXPECT_TRUE(v["note"].is_null()) << text;
    }
  }
};

TEST_F(GuidedEngine, JsonObjectGreedyParsesAndStops) {
  Engine engine(*model_->model, *tokenizer_, checked_engine_options(64, 16));
  const RequestResult r =
      engine.submit({prompt("And God said, Let there be light"), guided(json_object_grammar(), 200), {}, {}}).wait();
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.reason, FinishReason::Stop);
  EXPECT_TRUE(json::parse(r.text).is_object()) << r.text;
  expect_engine_clean(engine);
}

TEST_F(GuidedEngine, JsonSchemaGreedyAndSeededFollowTheSchema) {
  const auto schema = compile_json_schema(kPersonSchema);
  Engine engine(*model_->model, *tokenizer_, checked_engine_options(64, 16));
  std::vector<RequestHandle> handles;
  handles.push_back(engine.submit({prompt("In the beginning"), guided(schema, 200), {}, {}}));
  for (uint64_t seed : {1, 2, 3})
    handles.push_back(engine.submit({prompt("Blessed are the meek"), guided(schema, 200, 0.9f, seed), {}, {}}));
  for (RequestHandle& h : handles) {
    const RequestResult r = h.wait();
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.reason, FinishReason::Stop) << r.text;
    expect_person(r.text);
  }
  expect_engine_clean(engine);
}

TEST_F(GuidedEngine, UnguidedNeighboursGenerateWhatTheyDoAlone) {
  const auto schema = compile_json_schema(kPersonSchema);
  const SamplingParams plain = plain_neighbour(), sampled = sampled_neighbour();
  const auto a = prompt("And the earth was without form");
  const auto b = prompt("The LORD is my shepherd");
  const RequestResult plain_alone = run_alone(a, plain);
  const RequestResult sampled_alone = run_alone(b, sampled);
  Engine engine(*model_->model, *tokenizer_, checked_engine_options(64, 16));
  RequestHandle g1 = engine.submit({prompt("In the beginning"), guided(schema, 60), {}, {}});
  RequestHandle p1 = engine.submit({a, plain, {}, {}});
  RequestHandle g2 = engine.submit({b, guided(json_object_grammar(), 60, 0.7f, 9), {}, {}});
  RequestHandle p2 = engine.submit({b, sampled, {}, {}});
  EXPECT_EQ(p1.wait().ids, plain_alone.ids);
  EXPECT_EQ(p2.wait().ids, sampled_alone.ids);
  EXPECT_EQ(g1.wait().error, "");
  EXPECT_EQ(g2.wait().error, "");
  expect_engine_clean(engine);
}

TEST_F(GuidedEngine, WithoutStopIdsTheCompleteValueEndsTheRequest) {
  SamplingParams p = guided(json_object_grammar(), 200);
  p.ignore_eos = true;  // the stop ids do not count: the complete object itself ends it
  const RequestResult r = run_alone(prompt("And God said"), p);
  EXPECT_EQ(r.reason, FinishReason::Stop);
  EXPECT_TRUE(json::parse(r.text).is_object()) << r.text;
  EXPECT_TRUE(tokenizer_->token_bytes(r.ids.back()).ends_with("}")) << r.text;
}

TEST_F(GuidedEngine, MaxNewTokensCutsItShortWithLength) {
  const auto schema = compile_json_schema(kPersonSchema);
  const RequestResult r = run_alone(prompt("In the beginning"), guided(schema, 3));
  EXPECT_EQ(r.reason, FinishReason::Length);
  EXPECT_EQ(r.ids.size(), 3u);
  EXPECT_THROW(json::parse(r.text), json::exception) << r.text;  // a prefix of the object
}

TEST_F(GuidedEngine, LogprobsStayThoseOfTheRawModel) {
  SamplingParams with = guided(json_object_grammar(), 1);
  with.logprobs = true;
  with.top_logprobs = 5;
  SamplingParams without = with;
  without.guided = nullptr;
  const auto ids = prompt("And God said");
  const RequestResult g = run_alone(ids, with);
  const RequestResult u = run_alone(ids, without);
  ASSERT_EQ(g.logprobs.size(), 1u);
  ASSERT_EQ(u.logprobs.size(), 1u);
  EXPECT_NE(g.ids, u.ids);  // the model's own pick is not JSON
  ASSERT_EQ(g.logprobs[0].top.size(), u.logprobs[0].top.size());
  for (size_t i = 0; i < g.logprobs[0].top.size(); ++i) {
    EXPECT_EQ(g.logprobs[0].top[i].id, u.logprobs[0].top[i].id);
    EXPECT_FLOAT_EQ(g.logprobs[0].top[i].logprob, u.logprobs[0].top[i].logprob);
  }
}

}  // namespace
}  // namespace turbine::test
