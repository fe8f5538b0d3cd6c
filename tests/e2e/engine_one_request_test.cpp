// One request through the engine, the path `generate --prompt` takes: golden greedy ids, streamed
// events that add up to the result, and the one meaning of max_new_tokens (request_validation.h).
#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "e2e/e2e_util.h"
#include "e2e/engine_test_util.h"
#include "engine/engine.h"
#include "text/tokenizer.h"

namespace turbine::test {
namespace {

class OneRequest : public KjvEngineSuite {
 protected:
  static std::vector<int32_t> golden_prompt() {
    return golden()["kjv-llama"][0]["prompt_ids"].get<std::vector<int32_t>>();  // 6 tokens
  }
  static EngineOptions options(int session_len, int num_blocks = 64) {
    EngineOptions o = checked_engine_options(num_blocks, 4);
    o.session_len = session_len;
    return o;
  }
  static SamplingParams greedy(std::optional<int> max_new) {
    SamplingParams p;
    p.max_new_tokens = max_new;
    p.ignore_eos = true;
    return p;
  }
  static std::string error_of(Engine& engine, std::vector<int32_t> ids, const SamplingParams& p) {
    try {
      engine.submit({std::move(ids), p, {}, {}});
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(OneRequest, GreedyIdsMatchGoldenAndStreamedEventsAddUp) {
  const auto& c = golden()["kjv-llama"][0];
  const auto golden_ids = c["greedy_ids"].get<std::vector<int32_t>>();
  Engine engine(*model_->model, *tokenizer_, options(2048));
  RequestHandle h = engine.submit({golden_prompt(), greedy(12), {}, {}});
  std::vector<int32_t> seen;
  std::string streamed;
  FinishReason reason = FinishReason::None;
  while (auto out = h.next()) {
    if (out->token) seen.push_back(*out->token);
    streamed += out->text;
    if (out->finished) reason = out->reason;
  }
  const RequestResult r = h.wait();
  ASSERT_EQ(r.ids.size(), 12u);
  EXPECT_EQ(r.ids, std::vector<int32_t>(golden_ids.begin(), golden_ids.begin() + 12));  // margins >= 0.1 here
  EXPECT_EQ(seen, r.ids);
  EXPECT_EQ(streamed, r.text);
  EXPECT_EQ(reason, FinishReason::Length);
  EXPECT_EQ(r.ids, forward_greedy(*model_->model, golden_prompt(), 12));
  expect_engine_clean(engine);
}

TEST_F(OneRequest, ZeroMaxNewTokensGeneratesNothing) {
  Engine engine(*model_->model, *tokenizer_, options(2048));
  const RequestResult r = engine.submit({golden_prompt(), greedy(0), {}, {}}).wait();
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.ids.empty());
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(r.reason, FinishReason::Length);
  EXPECT_EQ(engine.counters().prefilled_tokens, 0u);
  expect_engine_clean(engine);
}

TEST_F(OneRequest, TheDefaultIsClampedToTheSession) {
  Engine engine(*model_->model, *tokenizer_, options(9));
  const RequestResult r = engine.submit({golden_prompt(), greedy(std::nullopt), {}, {}}).wait();
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.ids.size(), 3u);  // 6 + 3 = the session of 9
  EXPECT_EQ(r.reason, FinishReason::Length);
  expect_engine_clean(engine);
}

TEST_F(OneRequest, AnExplicitMaxNewTokensBeyondTheSessionIsAnError) {
  Engine engine(*model_->model, *tokenizer_, options(9));
  const std::string e = error_of(engine, golden_prompt(), greedy(4));
  EXPECT_NE(e.find("max_new_tokens 4 does not fit"), std::string::npos) << e;
  EXPECT_NE(e.find("6 tokens"), std::string::npos) << e;
  EXPECT_EQ(error_of(engine, golden_prompt(), greedy(3)), "");  // exactly fits
  expect_engine_clean(engine);
}

TEST_F(OneRequest, BadPromptsAreRefusedWithTheirReason) {
  Engine engine(*model_->model, *tokenizer_, options(6));
  // A prompt that fills the session leaves no room for the default...
  EXPECT_NE(error_of(engine, golden_prompt(), greedy(std::nullopt)).find("leaves no room to generate"),
            std::string::npos);
  // ...but may still run with max_new_tokens 0 (it fits exactly).
  EXPECT_EQ(error_of(engine, golden_prompt(), greedy(0)), "");
  EXPECT_NE(error_of(engine, {}, greedy(1)).find("the prompt is empty"), std::string::npos);
  EXPECT_NE(error_of(engine, {1, 99999}, greedy(1)).find("token id 99999 is outside the vocabulary"),
            std::string::npos);
  EXPECT_NE(error_of(engine, {1, 2}, greedy(-1)).find("must not be negative"), std::string::npos);
  expect_engine_clean(engine);
}

TEST_F(OneRequest, ARequestLargerThanTheCacheIsRefused) {
  Engine engine(*model_->model, *tokenizer_, options(2048, 3));  // 3 blocks of 4 tokens
  const std::string e = error_of(engine, golden_prompt(), greedy(7));
  EXPECT_NE(e.find("13 tokens need 4 KV blocks but the cache holds 3"), std::string::npos) << e;
  expect_engine_clean(engine);
}

// A task runs on the engine thread between steps, beside a request in flight, which it leaves
// unchanged; its exception reaches the caller and the engine goes on.
TEST_F(OneRequest, ATaskRunsBetweenStepsOnTheEngineThread) {
  Engine engine(*model_->model, *tokenizer_, options(2048));
  RequestHandle running = engine.submit({golden_prompt(), greedy(40), {}, {}});
  std::thread::id task_thread;
  std::vector<int32_t> reference;
  engine.run_between_steps([&] {
    task_thread = std::this_thread::get_id();
    reference = forward_greedy(*model_->model, golden_prompt(), 12);  // the model is free between steps
  });
  EXPECT_NE(task_thread, std::this_thread::get_id());
  EXPECT_THROW(engine.run_between_steps([] { fail("from the task"); }), Error);
  const RequestResult r = running.wait();
  ASSERT_EQ(r.error, "");
  ASSERT_GE(r.ids.size(), 12u);
  EXPECT_EQ(std::vector<int32_t>(r.ids.begin(), r.ids.begin() + 12), reference);
  expect_engine_clean(engine);
}

// A handle that never held a request (a server choice the engine refused) is safe to cancel.
TEST(RequestHandleTest, ADefaultHandleIsFinishedAndIgnoresCancel) {
  RequestHandle none;
  none.cancel();
  EXPECT_TRUE(none.finished());
}

}  // namespace
}  // namespace turbine::test
