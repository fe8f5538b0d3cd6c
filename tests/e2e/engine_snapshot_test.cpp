// Engine::counters and Engine::block_usage read a snapshot the loop publishes, so a reader (the
// server's /metrics) never waits for a running step or a task between steps; and a request's final
// event comes after the snapshot that counts it, even past another request's callback that throws.
// Each test holds the loop inside a step or a task until released and reads with a deadline, so a
// reader that waits fails the test instead of hanging.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "e2e/engine_test_util.h"
#include "engine/engine.h"

namespace turbine::test {
namespace {

using namespace std::chrono_literals;

// How long a reader may take: generous for a loaded machine, short next to a step held for good.
constexpr auto kReaderDeadline = 10s;
// How long the loop is held at most, so that a broken test ends rather than hangs.
constexpr auto kHoldLimit = 120s;

class EngineSnapshot : public KjvEngineSuite {
 protected:
  // Reads both on another thread; fails the test when they are not back within kReaderDeadline. `release`
  // lets the held loop go on either way (a reader that waits for the loop returns only then).
  static std::pair<EngineCounters, BlockUsage> read_while_held(Engine& engine, std::promise<void>& release) {
    auto reader = std::async(std::launch::async, [&] { return std::pair(engine.counters(), engine.block_usage()); });
    const bool in_time = reader.wait_for(kReaderDeadline) == std::future_status::ready;
    release.set_value();
    EXPECT_TRUE(in_time) << "counters() / block_usage() waited for the engine loop";
    return reader.get();
  }
};

TEST_F(EngineSnapshot, ReadersDoNotWaitForARunningStep) {
  Engine engine(*model_->model, *tokenizer_, checked_engine_options(64, 16));
  std::promise<void> inside, release;
  std::shared_future<void> released = release.get_future().share();
  bool first = true;
  SamplingParams p = greedy(4);
  p.ignore_eos = true;
  // The callback runs on the loop thread in the middle of the step that sampled the token.
  auto on_output = [&](const RequestOutput&) {
    if (!first) return;
    first = false;
    inside.set_value();
    released.wait_for(kHoldLimit);
  };
  RequestHandle handle = engine.submit({encode_with_bos(*tokenizer_, "In the beginning"), p, {}, on_output});
  ASSERT_EQ(inside.get_future().wait_for(kHoldLimit), std::future_status::ready);

  const auto [during, blocks] = read_while_held(engine, release);
  EXPECT_EQ(during.steps, 0u);  // published when the request was taken in, before its first step
  EXPECT_EQ(during.finished_requests, 0u);
  EXPECT_EQ(blocks.free + blocks.active + blocks.cached, engine.num_blocks());

  // No wait_idle: the request's end alone guarantees counters that include it.
  const RequestResult r = handle.wait();
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.ids.size(), 4u);
  const EngineCounters after = engine.counters();
  EXPECT_EQ(after.steps, 4u);  // the prefill gives the first token, three decodes the rest
  EXPECT_EQ(after.finished_requests, 1u);
  EXPECT_EQ(after.decoded_tokens, 3u);
  EXPECT_EQ(engine.block_usage().active, 0);
  expect_engine_clean(engine);
}

TEST_F(EngineSnapshot, ReadersDoNotWaitForATaskBetweenSteps) {
  Engine engine(*model_->model, *tokenizer_, checked_engine_options(64, 16));
  // A finished request first, so that the snapshot has something to show.
  SamplingParams p = greedy(2);
  p.ignore_eos = true;
  ASSERT_EQ(engine.submit({encode_with_bos(*tokenizer_, "And God said"), p, {}, {}}).wait().error, "");

  std::promise<void> inside, release;
  std::shared_future<void> released = release.get_future().share();
  auto task = std::async(std::launch::async, [&] {
    engine.run_between_steps([&] {
      inside.set_value();
      released.wait_for(kHoldLimit);
    });
  });
  ASSERT_EQ(inside.get_future().wait_for(kHoldLimit), std::future_status::ready);
  const auto [during, blocks] = read_while_held(engine, release);
  EXPECT_EQ(during.steps, 2u);
  EXPECT_EQ(during.finished_requests, 1u);
  EXPECT_EQ(blocks.active, 0);
  EXPECT_EQ(blocks.free + blocks.cached, engine.num_blocks());
  task.get();
  expect_engine_clean(engine);
}

TEST_F(EngineSnapshot, ACallbackThatThrowsLeavesTheOtherFinalEventsDelivered) {
  Engine engine(*model_->model, *tokenizer_, checked_engine_options(64, 16));
  // Both requests taken in together (the loop held in a task meanwhile), so they end in the same step
  // and their final events wait for the same publish.
  std::promise<void> inside, release;
  auto task = std::async(std::launch::async, [&] {
    engine.run_between_steps([&] {
      inside.set_value();
      release.get_future().wait_for(kHoldLimit);
    });
  });
  ASSERT_EQ(inside.get_future().wait_for(kHoldLimit), std::future_status::ready);
  SamplingParams p = greedy(2);
  p.ignore_eos = true;
  const std::vector<int32_t> ids = encode_with_bos(*tokenizer_, "In the beginning");
  const auto throwing = [](const RequestOutput& out) {
    if (out.finished) throw std::runtime_error("the caller's callback failed");
  };
  RequestHandle first = engine.submit({ids, p, {}, throwing});
  RequestHandle second = engine.submit({ids, p, {}, {}});
  release.set_value();
  task.get();

  const auto deadline = std::chrono::steady_clock::now() + kReaderDeadline;
  while (!second.finished() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(second.finished()) << "the final event after the one whose callback threw was never delivered";
  const RequestResult r = second.wait();
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.ids.size(), 2u);
  expect_engine_clean(engine);
}

}  // namespace
}  // namespace turbine::test
