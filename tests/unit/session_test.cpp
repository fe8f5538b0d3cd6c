#include "engine/session.h"

#include <gtest/gtest.h>

#include "scheduler_driver.h"

using namespace turbine;
using turbine::test::SchedulerDriver;

namespace {
SchedulerOptions opts(int blocks, int len) {
  SchedulerOptions o;
  o.num_blocks = blocks;
  o.block_len = len;
  o.max_batch_size = 8;
  o.max_prefill_token_num = 1000;
  return o;
}
std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

TEST(Session, SecondTurnPrefillsOnlyItsNewTokens) {
  SchedulerDriver d(opts(16, 4));
  d.add({1, 2, 3, 4, 5}, 3, 7);
  d.run_until_idle();
  const auto turn1 = d.finished_tokens.at(1);  // 8 tokens; the last one never ran
  const Session* s = d.scheduler.sessions().find(7);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->tokens.size(), 7u);
  EXPECT_EQ(s->blocks.size(), 2u);
  Sequence& t2 = d.add(concat(turn1, {9, 9, 9, 9}), 2, 7);
  Schedule sch = d.step();
  EXPECT_EQ(t2.num_cached_prefix, 7);  // the partial second block is kept and extended
  ASSERT_EQ(sch.chunks.size(), 1u);
  EXPECT_EQ(sch.chunks[0].num_tokens, 12 - 7);
  d.run_until_idle();
  d.scheduler.check_invariants();
}

TEST(Session, ATurnThatDivergesReprefillsFromTheFirstDifference) {
  SchedulerDriver d(opts(16, 4));
  d.add({1, 2, 3, 4, 5, 6, 7}, 2, 3);
  d.run_until_idle();
  Sequence& t2 = d.add({1, 2, 3, 4, 5, 0, 0, 0}, 2, 3);
  Schedule sch = d.step();
  EXPECT_EQ(t2.num_cached_prefix, 5);
  EXPECT_EQ(sch.chunks[0].num_tokens, 3);
  d.run_until_idle();  // the driver's KV check proves the overwritten block holds the new tokens
}

TEST(Session, IdleSessionsGiveWayWhenMemoryIsShort) {
  SchedulerDriver d(opts(4, 2));
  d.add({1, 2, 3, 4, 5}, 1, 1);  // session 1 keeps 3 blocks
  d.run_until_idle();
  EXPECT_EQ(d.scheduler.sessions().find(1)->blocks.size(), 3u);
  d.add({9, 8, 7, 6, 5}, 2);  // needs 3 blocks, one is free
  d.run_until_idle();
  EXPECT_GE(d.scheduler.stats().sessions_given_way, 1u);
  EXPECT_TRUE(d.scheduler.sessions().find(1)->blocks.empty());
  // The next turn of session 1 still finds what the prefix cache kept of it, and is correct.
  d.add({1, 2, 3, 4, 5, 6, 7}, 1, 1);
  d.run_until_idle();
}

TEST(Session, EndingABusySessionWaitsForItsTurnThenFreesIt) {
  SchedulerDriver d(opts(8, 2));
  Sequence& t = d.add({1, 2, 3}, 4, 5);
  d.step();
  d.scheduler.end_session(5);
  EXPECT_NE(d.scheduler.sessions().find(5), nullptr);
  d.finish(t);
  EXPECT_EQ(d.scheduler.sessions().find(5), nullptr);
  EXPECT_EQ(d.scheduler.block_manager().num_active(), 0);
  d.scheduler.end_session(99);  // unknown: ignored
  d.scheduler.check_invariants();
}

TEST(Session, ASecondTurnQueuedBehindTheFirstWaitsForIt) {
  SchedulerDriver d(opts(16, 4));
  Sequence& a = d.add({1, 2, 3}, 3, 2);
  d.add({1, 2, 3, 9}, 2, 2);
  Schedule s = d.step();
  ASSERT_EQ(s.chunks.size(), 1u);
  EXPECT_EQ(s.chunks[0].seq, &a);
  d.run_until_idle();
  EXPECT_EQ(d.finished_tokens.size(), 2u);
}
