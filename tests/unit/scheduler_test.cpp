#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include "scheduler_driver.h"

using namespace turbine;
using turbine::test::SchedulerDriver;

namespace {
SchedulerOptions opts(int blocks, int len, int batch = 8, int budget = 1000) {
  SchedulerOptions o;
  o.num_blocks = blocks;
  o.block_len = len;
  o.max_batch_size = batch;
  o.max_prefill_token_num = budget;
  return o;
}
std::vector<int32_t> iota_tokens(int n, int first) {
  std::vector<int32_t> v(n);
  for (int i = 0; i < n; ++i) v[i] = first + i;
  return v;
}
}  // namespace

TEST(Scheduler, SharedPrefixPrefillsOnlyTheSuffix) {
  SchedulerDriver d(opts(16, 4));
  d.add(iota_tokens(10, 100), 2);
  d.run_until_idle();
  auto prompt = iota_tokens(10, 100);
  prompt[9] = 7;  // same first 9 tokens: two full blocks (8 tokens) are reusable
  Sequence& seq = d.add(prompt, 2);
  Schedule s = d.step();
  ASSERT_EQ(s.chunks.size(), 1u);
  EXPECT_EQ(seq.num_cached_prefix, 8);
  EXPECT_EQ(s.chunks[0].num_tokens, 2);
  EXPECT_EQ(s.num_prefill_tokens, 2);
  EXPECT_EQ(d.scheduler.stats().cached_prefix_tokens, 8u);
  d.run_until_idle();
  EXPECT_EQ(d.scheduler.block_manager().num_active(), 0);
}

TEST(Scheduler, AFullyCachedPromptStillComputesItsLastToken) {
  SchedulerDriver d(opts(16, 4));
  d.add(iota_tokens(8, 100), 3);
  d.run_until_idle();
  Sequence& seq = d.add(iota_tokens(8, 100), 3);
  Schedule s = d.step();
  EXPECT_EQ(seq.num_cached_prefix, 4);  // block 2 is cached too, but the last token must run
  EXPECT_EQ(s.chunks[0].num_tokens, 4);
  EXPECT_TRUE(s.chunks[0].samples);
  d.run_until_idle();
}

TEST(Scheduler, LongPromptIsChunkedUnderTheBudgetWhileDecodesContinue) {
  SchedulerDriver d(opts(32, 4, 8, 4));
  Sequence& a = d.add(iota_tokens(3, 1), 10);
  d.step();  // a prefilled and sampled its first token
  Sequence& b = d.add(iota_tokens(10, 50), 2);
  std::vector<int> chunks;
  for (int i = 0; i < 3; ++i) {
    Schedule s = d.step();
    ASSERT_EQ(s.chunks.size(), 2u);
    EXPECT_EQ(s.chunks[0].seq, &a);  // the decode runs every step
    EXPECT_EQ(s.chunks[0].num_tokens, 1);
    EXPECT_EQ(s.chunks[1].seq, &b);
    chunks.push_back(s.chunks[1].num_tokens);
    EXPECT_EQ(s.chunks[1].samples, i == 2);
    EXPECT_LE(s.num_prefill_tokens, 4);
  }
  EXPECT_EQ(chunks, (std::vector<int>{4, 4, 2}));
  d.run_until_idle();
}

TEST(Scheduler, OutOfBlocksPreemptsTheNewestAndRecomputes) {
  // 4 blocks of 2 tokens; two sequences of 3 prompt tokens take 2 blocks each, then must grow.
  SchedulerDriver d(opts(4, 2));
  Sequence& a = d.add({1, 2, 3}, 4);
  Sequence& b = d.add({4, 5, 6}, 4);
  const uint64_t a_id = a.id, b_id = b.id;
  d.step();
  EXPECT_EQ(d.scheduler.num_running(), 2u);
  d.step();  // both decode their 4th token (still 2 blocks each)
  Schedule s = d.step();
  EXPECT_EQ(d.scheduler.stats().preemptions, 1u);
  ASSERT_EQ(s.chunks.size(), 1u);
  EXPECT_EQ(s.chunks[0].seq->id, a_id);
  EXPECT_EQ(d.scheduler.num_waiting(), 1u);
  d.run_until_idle();
  // Each ran to max_tokens; results equal the ones of runs alone.
  SchedulerDriver alone(opts(8, 2));
  alone.add({1, 2, 3}, 4);
  alone.add({4, 5, 6}, 4);
  alone.run_until_idle();
  EXPECT_EQ(d.finished_tokens.at(a_id), alone.finished_tokens.at(1));
  EXPECT_EQ(d.finished_tokens.at(b_id), alone.finished_tokens.at(2));
  EXPECT_EQ(d.scheduler.block_manager().num_active(), 0);
}

TEST(Scheduler, MaxBatchSizeLimitsRunningSequences) {
  SchedulerDriver d(opts(64, 4, 2));
  for (int i = 0; i < 5; ++i) d.add({int32_t(10 + i), 1, 2}, 3);
  Schedule s = d.step();
  EXPECT_EQ(s.chunks.size(), 2u);
  EXPECT_EQ(d.scheduler.num_waiting(), 3u);
  d.run_until_idle();
  EXPECT_EQ(d.finished_tokens.size(), 5u);
}

TEST(Scheduler, FitsRejectsASequenceLargerThanTheCache) {
  Scheduler s(opts(4, 4));
  EXPECT_TRUE(s.fits(16));
  EXPECT_FALSE(s.fits(17));
}

TEST(Scheduler, CancelWhileWaitingOrRunningReleasesEverything) {
  SchedulerDriver d(opts(8, 2, 1));
  Sequence& a = d.add({1, 2, 3}, 5);
  Sequence& b = d.add({1, 2, 4}, 5);
  d.step();
  EXPECT_EQ(a.status, SequenceStatus::Running);
  d.finish(b);  // cancelled while waiting
  d.finish(a);  // cancelled while running
  EXPECT_FALSE(d.scheduler.has_work());
  d.scheduler.check_invariants();
  EXPECT_EQ(d.scheduler.block_manager().num_active(), 0);
  EXPECT_EQ(d.scheduler.block_manager().num_cached(), 1);  // a's first full block {1,2}
}
