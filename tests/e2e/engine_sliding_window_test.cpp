// mistral-tiny (sliding window 64) in the engine: blocks that fall behind the window are released
// while sequences run, so long generations hold a bounded number of blocks, and the ids stay those
// of a plain greedy loop over the forward, which keeps every block. Session turns continue over released blocks, and a
// turn that diverges inside the released part recomputes from the start.
#include <gtest/gtest.h>

#include "e2e/e2e_util.h"
#include "e2e/engine_test_util.h"
#include "engine/engine.h"
#include "text/tokenizer.h"

namespace turbine::test {
namespace {

constexpr int kBlockLen = 16;

class SlidingWindowEngine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto dir = model_dir("mistral-tiny");
    if (!std::filesystem::exists(dir / "config.json")) return;
    model_ = load_cpu_model(dir).release();
    tokenizer_ = load_tokenizer(dir).release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tokenizer_;
  }
  void SetUp() override {
    if (!model_) GTEST_SKIP() << "no mistral-tiny under " << shared_dir();
    ASSERT_EQ(model_->config.sliding_window, 64);
  }

  static EngineOptions options(int num_blocks) { return checked_engine_options(num_blocks, kBlockLen); }
  static SamplingParams greedy(int max_new) {
    SamplingParams p;
    p.max_new_tokens = max_new;
    p.ignore_eos = true;
    return p;
  }
  std::vector<int32_t> prompt(const std::string& text) const { return encode_with_bos(*tokenizer_, text); }
  // The reference: one sequence that keeps all its blocks.
  std::vector<int32_t> generator_ids(const std::vector<int32_t>& ids, const SamplingParams& p) const {
    return forward_greedy(*model_->model, ids, *p.max_new_tokens, kBlockLen);
  }
  static void expect_clean(Engine& engine) { expect_engine_clean(engine); }

  static LoadedModel* model_;
  static Tokenizer* tokenizer_;
};
LoadedModel* SlidingWindowEngine::model_ = nullptr;
Tokenizer* SlidingWindowEngine::tokenizer_ = nullptr;

// Three 300-token generations would need 60 blocks without releases; 24 hold them all at once.
TEST_F(SlidingWindowEngine, LongGenerationsFitInFewBlocksAndMatchAGreedyLoop) {
  const SamplingParams p = greedy(300);
  const std::vector<std::vector<int32_t>> prompts = {prompt("The quick brown fox"), prompt("Once upon a time"),
                                                     prompt("In a small village by the sea")};
  Engine engine(*model_->model, *tokenizer_, options(24));
  std::vector<RequestHandle> handles;
  for (const auto& ids : prompts) handles.push_back(engine.submit({ids, p, {}, {}}));
  std::vector<RequestResult> results;
  for (auto& h : handles) results.push_back(h.wait());
  // The reference runs the same model on this thread: only once the engine is done with it (a
  // model, its activations and the CPU thread pool serve one caller at a time).
  engine.wait_idle();
  for (size_t i = 0; i < prompts.size(); ++i) {
    const RequestResult& r = results[i];
    ASSERT_EQ(r.error, "");
    ASSERT_EQ(r.ids.size(), 300u);
    EXPECT_EQ(r.ids, generator_ids(prompts[i], p)) << "prompt " << i;
  }
  const EngineCounters c = engine.counters();
  EXPECT_EQ(c.preemptions, 0u) << "released blocks should have made room";
  EXPECT_GE(c.window_released_blocks, 3u * 14u);  // each ends ~20 blocks long, ~5 of them inside the window
  expect_clean(engine);
}

TEST_F(SlidingWindowEngine, SessionTurnsContinueOverReleasedBlocks) {
  const SamplingParams p = greedy(150);
  Engine engine(*model_->model, *tokenizer_, options(40));
  const auto turn1 = prompt("Tell me a story about a lighthouse");
  const RequestResult r1 = engine.submit({turn1, p, 3, {}}).wait();
  ASSERT_EQ(r1.error, "");
  EXPECT_GT(engine.counters().window_released_blocks, 0u);
  // The next turn extends the conversation: only its new tokens are prefilled.
  std::vector<int32_t> turn2 = turn1;
  turn2.insert(turn2.end(), r1.ids.begin(), r1.ids.end());
  const auto extra = prompt("and then what happened");
  turn2.insert(turn2.end(), extra.begin() + 1, extra.end());
  const EngineCounters before = engine.counters();
  const RequestResult r2 = engine.submit({turn2, greedy(40), 3, {}}).wait();
  ASSERT_EQ(r2.error, "");
  EXPECT_EQ(engine.counters().prefilled_tokens - before.prefilled_tokens,
            extra.size());  // + the unrun last token - BOS
  EXPECT_EQ(r2.ids, generator_ids(turn2, greedy(40)));
  // A turn that rewrites an early token: its window reaches released blocks, so it starts over.
  std::vector<int32_t> turn3 = turn2;
  turn3[5] = 100;
  const EngineCounters b3 = engine.counters();
  const RequestResult r3 = engine.submit({turn3, greedy(20), 3, {}}).wait();
  ASSERT_EQ(r3.error, "");
  EXPECT_EQ(r3.cached_prefix_tokens, 0);
  EXPECT_EQ(engine.counters().prefilled_tokens - b3.prefilled_tokens, turn3.size());
  EXPECT_EQ(r3.ids, generator_ids(turn3, greedy(20)));
  engine.end_session(3);
  expect_clean(engine);
}

}  // namespace
}  // namespace turbine::test
