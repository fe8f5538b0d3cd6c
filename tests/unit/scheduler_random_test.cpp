// Randomized: arrivals, cancels, session turns and ends over a tiny cache. After every step the
// block invariants hold and every running sequence's "KV" (see scheduler_driver.h) is right; at the
// end no block is left Active.
#include <gtest/gtest.h>

#include <random>

#include "scheduler_driver.h"

using namespace turbine;
using turbine::test::SchedulerDriver;

namespace {

void run_random(uint64_t seed, int block_len, int num_blocks, int budget, int window = 0) {
  SchedulerOptions o;
  o.sliding_window = window;
  o.num_blocks = num_blocks;
  o.block_len = block_len;
  o.max_batch_size = 6;
  o.max_prefill_token_num = budget;
  SchedulerDriver d(o);
  std::mt19937_64 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const std::vector<std::vector<int32_t>> prefixes = {{1, 2, 3, 4, 5, 6, 7, 8}, {9, 9, 9, 9, 9}, {}};
  const int capacity = num_blocks * block_len;
  std::map<uint64_t, std::vector<int32_t>> conversation;  // session -> tokens of its last finished turn
  std::map<uint64_t, uint64_t> turn_of;                   // session -> seq id of its queued/running turn

  for (int step = 0; step < 1500; ++step) {
    if (uniform(0, 3) == 0) {  // a one-off request sharing a common prefix
      std::vector<int32_t> p = prefixes[uniform(0, 2)];
      for (int n = uniform(1, 6); n > 0; --n) p.push_back(uniform(3, 12));
      d.add(p, uniform(1, 8));
    }
    if (uniform(0, 5) == 0) {  // the next turn of a session
      const uint64_t sid = uint64_t(uniform(1, 3));
      if (!turn_of.count(sid)) {
        std::vector<int32_t> p = conversation[sid];
        if (!p.empty() && uniform(0, 3) == 0) p[uniform(0, int(p.size()) - 1)] = 60;  // an edited history
        for (int n = uniform(1, 5); n > 0; --n) p.push_back(uniform(3, 12));
        const int max_new = uniform(1, 6);
        if (int(p.size()) + max_new > capacity) {
          d.scheduler.end_session(sid);
          conversation.erase(sid);
        } else {
          turn_of[sid] = d.add(p, max_new, sid).id;
        }
      }
    }
    if (uniform(0, 9) == 0 && !d.live.empty()) {  // cancel anything live
      Sequence& victim = *d.live[uniform(0, int(d.live.size()) - 1)];
      if (victim.session_id) turn_of.erase(*victim.session_id);
      d.finish(victim);
    }
    if (uniform(0, 40) == 0) {
      const uint64_t sid = uint64_t(uniform(1, 3));
      d.scheduler.end_session(sid);
      if (!turn_of.count(sid)) conversation.erase(sid);
    }
    const std::set<uint64_t> before = [&] {
      std::set<uint64_t> ids;
      for (auto& s : d.live) ids.insert(s->id);
      return ids;
    }();
    d.step();
    ASSERT_NO_THROW(d.scheduler.check_invariants()) << "step " << step;
    for (auto it = turn_of.begin(); it != turn_of.end();) {
      auto f = d.finished_tokens.find(it->second);
      if (f != d.finished_tokens.end() && before.count(it->second)) {
        conversation[it->first] = f->second;
        it = turn_of.erase(it);
      } else {
        ++it;
      }
    }
    if (testing::Test::HasFatalFailure()) return;
  }
  for (uint64_t sid = 1; sid <= 3; ++sid) d.scheduler.end_session(sid);
  d.run_until_idle();
  d.scheduler.check_invariants();
  const BlockManager& bm = d.scheduler.block_manager();
  EXPECT_EQ(bm.num_active(), 0) << "leaked blocks";
  EXPECT_EQ(bm.num_free() + bm.num_cached(), num_blocks);
  EXPECT_EQ(d.scheduler.sessions().size(), 0u);
  EXPECT_GT(d.scheduler.stats().preemptions, 0u) << "the cache was meant to be too small";
  EXPECT_GT(d.scheduler.stats().cached_prefix_tokens, 0u);
  if (window > 0) {
    EXPECT_GT(d.scheduler.stats().window_released_blocks, 0u);
  }
}

}  // namespace

TEST(SchedulerRandom, TinyCacheBlockLen2) { run_random(1, 2, 12, 8); }
TEST(SchedulerRandom, TinyCacheBlockLen4) { run_random(2, 4, 8, 16); }
TEST(SchedulerRandom, TinyBudgetBlockLen3) { run_random(3, 3, 10, 3); }
// A sliding window of a few tokens: blocks behind it are released while sequences run.
TEST(SchedulerRandom, SlidingWindowBlockLen2) { run_random(4, 2, 11, 8, 5); }
TEST(SchedulerRandom, SlidingWindowBlockLen3) { run_random(5, 3, 10, 4, 7); }
