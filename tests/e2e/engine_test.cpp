// The engine end to end on kjv-llama (CPU): continuous batching gives each request the ids it
// gets alone (also under preemption), prefix caching and sessions prefill only what is new, and
// after every test no KV block is left held. Block invariants are checked after every step.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <random>
#include <thread>

#include "e2e/e2e_util.h"
#include "e2e/engine_test_util.h"
#include "text/tokenizer.h"

namespace turbine::test {
namespace {

class EngineE2E : public KjvEngineSuite {
 protected:
  static EngineOptions options(int num_blocks, int block_len = 16) {
    return checked_engine_options(num_blocks, block_len);
  }
  std::vector<int32_t> encode(const std::string& text) const { return encode_with_bos(*tokenizer_, text); }
  static void expect_clean(Engine& engine) { expect_engine_clean(engine); }
  // 5 golden prompts + 59 lines of held-out text, each a few words: 64 different prompts.
  std::vector<std::vector<int32_t>> prompts64() const {
    std::vector<std::vector<int32_t>> out;
    for (const auto& c : golden().at("kjv-llama")) out.push_back(c.at("prompt_ids").get<std::vector<int32_t>>());
    std::ifstream in(default_model_dir() / "kjv_eval.txt");
    std::string line;
    while (out.size() < 64 && std::getline(in, line)) {
      std::istringstream words(line);
      std::string w, text;
      for (int i = 0; i < 8 && words >> w; ++i) text += (i ? " " : "") + w;
      if (text.size() < 10) continue;
      out.push_back(encode(text));
    }
    return out;
  }
};

void run_concurrently_and_compare(Engine& engine, const std::vector<std::vector<int32_t>>& prompts,
                                  const std::vector<RequestResult>& alone, const SamplingParams& p) {
  std::vector<RequestHandle> handles;
  for (const auto& ids : prompts) handles.push_back(engine.submit({ids, p, {}, {}}));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const RequestResult r = handles[i].wait();
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.ids, alone[i].ids) << "prompt " << i;  // bit-exact: CPU rows are independent
    EXPECT_EQ(r.text, alone[i].text) << "prompt " << i;
  }
}

TEST_F(EngineE2E, SixtyFourConcurrentGreedyRequestsMatchTheirRunsAlone) {
  const auto prompts = prompts64();
  ASSERT_EQ(prompts.size(), 64u);
  const SamplingParams p = greedy(5);
  std::vector<RequestResult> alone;
  for (const auto& ids : prompts) alone.push_back(run_alone(ids, p, 4));
  // Golden prompts: the first tokens match the PyTorch fp32 reference (margin rule, 0.05).
  const auto& gold = golden().at("kjv-llama");
  for (size_t i = 0; i < gold.size(); ++i) {
    const auto want = gold[i].at("greedy_ids").get<std::vector<int32_t>>();
    const auto margins = gold[i].at("margins").get<std::vector<double>>();
    for (size_t s = 0; s < alone[i].ids.size() && margins[s] >= 0.05; ++s)
      EXPECT_EQ(alone[i].ids[s], want[s]) << "golden prompt " << i << " step " << s;
  }
  {  // plenty of cache
    Engine engine(*model_->model, *tokenizer_, options(512, 4));
    run_concurrently_and_compare(engine, prompts, alone, p);
    EXPECT_EQ(engine.counters().preemptions, 0u);
    EXPECT_EQ(engine.counters().sampled_full_rows, 0u);  // greedy: only argmax ids leave the device
    EXPECT_EQ(engine.counters().sampled_on_device, 64u * 5);
    expect_clean(engine);
  }
  {  // a cache far too small for 64 at once: preemption and recomputation
    Engine engine(*model_->model, *tokenizer_, options(48, 4));
    run_concurrently_and_compare(engine, prompts, alone, p);
    EXPECT_GT(engine.counters().preemptions, 0u);
    expect_clean(engine);
  }
}

TEST_F(EngineE2E, ChunkedPrefillGivesTheSameIds) {
  const auto ids = encode("And God said, Let there be light: and there was light. And God saw the light");
  const SamplingParams p = greedy(5);
  const RequestResult alone = run_alone(ids, p);
  EngineOptions o = options(64);
  o.max_prefill_token_num = 5;  // the prompt runs in several chunks
  Engine engine(*model_->model, *tokenizer_, o);
  EXPECT_EQ(engine.submit({ids, p, {}, {}}).wait().ids, alone.ids);
  EXPECT_GT(engine.counters().steps, 5u);
  expect_clean(engine);
}

// Mixed sampling in one batch (argmax rows, candidate rows, whole rows for the penalty) beside
// prefill chunks that want no logits: every request still draws what it draws alone.
TEST_F(EngineE2E, ConcurrentSampledRequestsMatchTheirRunsAlone) {
  auto prompts = prompts64();
  prompts.resize(12);
  std::vector<SamplingParams> params;
  for (size_t i = 0; i < prompts.size(); ++i) {
    SamplingParams p = greedy(6);
    p.seed = 100 + i;
    p.temperature = i % 4 == 0 ? 0.0f : 0.6f + 0.2f * float(i % 3);
    p.top_k = i % 3 == 1 ? 40 : 0;
    p.top_p = i % 3 == 2 ? 0.9f : 1.0f;
    p.min_p = i % 5 == 3 ? 0.05f : 0.0f;
    p.repetition_penalty = i % 6 == 5 ? 1.2f : 1.0f;
    params.push_back(p);
  }
  std::vector<RequestResult> alone;
  for (size_t i = 0; i < prompts.size(); ++i) alone.push_back(run_alone(prompts[i], params[i]));
  EngineOptions o = options(256, 4);
  o.max_prefill_token_num = 7;  // prompts prefill in chunks that sample nothing
  Engine engine(*model_->model, *tokenizer_, o);
  std::vector<RequestHandle> handles;
  for (size_t i = 0; i < prompts.size(); ++i) handles.push_back(engine.submit({prompts[i], params[i], {}, {}}));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const RequestResult r = handles[i].wait();
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.ids, alone[i].ids) << "prompt " << i;
  }
  // Plain temperature rows (prompts 6 and 9) need whole rows; the rest come from the device.
  EXPECT_GT(engine.counters().sampled_full_rows, 0u);
  EXPECT_GT(engine.counters().sampled_on_device, engine.counters().sampled_full_rows);
  expect_clean(engine);
}

TEST_F(EngineE2E, ASharedPrefixPrefillsOnlyTheSuffix) {
  Engine engine(*model_->model, *tokenizer_, options(64));
  const auto a = encode(
      "In the beginning God created the heaven and the earth. And the earth was without form, and void; and "
      "darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters.");
  ASSERT_GT(a.size(), 34u);
  const SamplingParams p = greedy(3);
  engine.submit({a, p, {}, {}}).wait();
  const EngineCounters before = engine.counters();
  std::vector<int32_t> b(a.begin(), a.begin() + 34);
  for (int32_t t : encode("and darkness was upon the face")) b.push_back(t);
  const RequestResult r = engine.submit({b, p, {}, {}}).wait();
  const EngineCounters after = engine.counters();
  EXPECT_EQ(r.cached_prefix_tokens, 32);  // two full blocks of 16
  EXPECT_EQ(after.cached_prefix_tokens - before.cached_prefix_tokens, 32u);
  EXPECT_EQ(after.prefilled_tokens - before.prefilled_tokens, b.size() - 32);
  EXPECT_EQ(r.ids, run_alone(b, p).ids);  // the reused KV is the right KV
  expect_clean(engine);
}

TEST_F(EngineE2E, ASessionsSecondTurnPrefillsOnlyItsNewTokens) {
  Engine engine(*model_->model, *tokenizer_, options(64));
  SamplingParams p = greedy(5);
  p.ignore_eos = true;
  auto turn1 = encode("[INST] Who made the heaven? [/INST]");
  const RequestResult r1 = engine.submit({turn1, p, 7, {}}).wait();
  ASSERT_EQ(r1.ids.size(), 5u);
  std::vector<int32_t> turn2 = turn1;
  turn2.insert(turn2.end(), r1.ids.begin(), r1.ids.end());
  const auto extra = encode("[INST] And the earth? [/INST]");
  turn2.insert(turn2.end(), extra.begin(), extra.end());
  const EngineCounters before = engine.counters();
  const RequestResult r2 = engine.submit({turn2, p, 7, {}}).wait();
  const EngineCounters after = engine.counters();
  // The last generated token of turn 1 never ran, so it is prefilled with the new ones.
  EXPECT_EQ(after.prefilled_tokens - before.prefilled_tokens, extra.size() + 1);
  EXPECT_EQ(r2.cached_prefix_tokens, int(turn2.size() - extra.size() - 1));
  EXPECT_EQ(r2.ids, run_alone(turn2, p).ids);
  // A third turn that rewrites the history (re-prefill from the first differing token).
  std::vector<int32_t> turn3 = turn2;
  turn3[turn1.size() + 1] = 100;
  const EngineCounters b3 = engine.counters();
  const RequestResult r3 = engine.submit({turn3, p, 7, {}}).wait();
  EXPECT_EQ(engine.counters().prefilled_tokens - b3.prefilled_tokens, turn3.size() - turn1.size() - 1);
  EXPECT_EQ(r3.ids, run_alone(turn3, p).ids);
  engine.wait_idle();
  EXPECT_GT(engine.block_usage().active, 0);  // the session holds its conversation
  engine.end_session(7);
  expect_clean(engine);
}

TEST_F(EngineE2E, CancelStopsARequestAndStreamsEventsBeforeThat) {
  Engine engine(*model_->model, *tokenizer_, options(64));
  SamplingParams p = greedy(200);
  p.ignore_eos = true;
  RequestHandle h = engine.submit({encode("Blessed are the"), p, {}, {}});
  int tokens = 0;
  std::string streamed;
  while (auto ev = h.next()) {
    streamed += ev->text;
    if (ev->token) ++tokens;
    if (tokens == 3) h.cancel();
    if (ev->finished) break;
  }
  const RequestResult r = h.wait();
  EXPECT_TRUE(r.cancelled);
  EXPECT_LT(r.ids.size(), 200u);
  EXPECT_GE(r.ids.size(), 3u);
  EXPECT_EQ(streamed, r.text);
  expect_clean(engine);
}

TEST_F(EngineE2E, RandomTrafficFromSeveralThreadsKeepsTheBlocksConsistent) {
  Engine engine(*model_->model, *tokenizer_, options(24, 4));  // 96 tokens of cache in all
  const auto prompts = prompts64();
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t)
    clients.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<RequestHandle> mine;
      for (int i = 0; i < 10; ++i) {
        SamplingParams p = greedy(1 + int(rng() % 6));
        p.temperature = (rng() % 2) ? 0.8f : 0.0f;
        p.seed = rng();
        std::optional<uint64_t> session;
        if (rng() % 3 == 0) session = 100 + t;
        mine.push_back(engine.submit({prompts[rng() % prompts.size()], p, session, {}}));
        if (rng() % 4 == 0) mine.back().cancel();
        if (rng() % 5 == 0) engine.end_session(100 + t);
      }
      for (auto& h : mine) EXPECT_EQ(h.wait().error, "");
      engine.end_session(100 + t);
    });
  for (auto& c : clients) c.join();
  expect_clean(engine);
}

TEST_F(EngineE2E, RequestsThatCanNeverRunAreRefused) {
  Engine engine(*model_->model, *tokenizer_, options(4, 4));
  EXPECT_THROW(engine.submit({{}, greedy(4), {}, {}}), Error);
  EXPECT_THROW(engine.submit({{1, 32000}, greedy(4), {}, {}}), Error);
  EXPECT_THROW(engine.submit({{1, 2, 3}, greedy(100), {}, {}}), Error);  // 103 tokens > 16 of cache
  EXPECT_EQ(engine.submit({{1, 450}, greedy(0), {}, {}}).wait().ids.size(), 0u);
  expect_clean(engine);
}

}  // namespace
}  // namespace turbine::test
