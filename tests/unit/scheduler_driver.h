// Test helper: runs the scheduler's step loop without a model. A fake KV cache stores, at every
// computed position, a hash of the whole token prefix up to it; before each step every sequence's
// cached positions are checked against its own tokens, so any wrong block reuse (prefix cache,
// sessions, preemption) is caught as wrong "KV", not just as a bookkeeping mismatch.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <vector>

#include "engine/scheduler.h"

namespace turbine::test {

inline uint64_t prefix_hash(const std::vector<int32_t>& tokens, int upto) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i <= upto; ++i) h = (h ^ uint64_t(uint32_t(tokens[i]))) * 1099511628211ull;
  return h;
}

class SchedulerDriver {
 public:
  explicit SchedulerDriver(const SchedulerOptions& o) : options(o), scheduler(o) {
    kv.assign(size_t(o.num_blocks) * o.block_len, 0);
  }

  Sequence& add(std::vector<int32_t> prompt, int max_new, std::optional<uint64_t> session = {}) {
    auto seq = std::make_unique<Sequence>(next_id++, std::move(prompt), 0, session);
    seq->max_tokens = seq->prompt_len + max_new;
    Sequence& ref = *seq;
    live.push_back(std::move(seq));
    scheduler.add(&ref);
    return ref;
  }

  // The next token is a function of the prefix, so reruns are reproducible.
  int32_t next_token(const Sequence& seq) const {
    return int32_t(prefix_hash(seq.tokens, seq.num_tokens() - 1) % 50) + 3;
  }

  // One step; finishes sequences that reach max_tokens. Returns the schedule it ran.
  Schedule step() {
    Schedule s = scheduler.schedule();
    for (auto& c : s.chunks) {
      Sequence& seq = *c.seq;
      verify_kv(seq);
      for (int p = seq.num_computed; p < seq.num_computed + c.num_tokens; ++p)
        slot(seq, p) = prefix_hash(seq.tokens, p);
      scheduler.commit(c);
    }
    for (auto& c : s.chunks) {
      Sequence& seq = *c.seq;
      if (!c.samples || seq.status != SequenceStatus::Running) continue;
      scheduler.append_token(seq, next_token(seq));
      if (seq.num_tokens() >= seq.max_tokens) finish(seq);
    }
    ++steps;
    return s;
  }

  void finish(Sequence& seq) {
    finished_tokens[seq.id] = seq.tokens;
    scheduler.finish(seq);
    for (auto it = live.begin(); it != live.end(); ++it)
      if (it->get() == &seq) {
        live.erase(it);
        break;
      }
  }

  void run_until_idle(int max_steps = 10000) {
    for (int i = 0; i < max_steps && scheduler.has_work(); ++i) {
      step();
      scheduler.check_invariants();
    }
    ASSERT_FALSE(scheduler.has_work()) << "did not drain";
  }

  // Every position the next query can read (all computed ones, or those in its sliding window)
  // holds that sequence's "KV"; older blocks may have been released.
  void verify_kv(const Sequence& seq) {
    const int window = options.sliding_window;
    const int first = window > 0 ? std::max(0, seq.num_computed - window + 1) : 0;
    for (int p = first; p < seq.num_computed; ++p) {
      ASSERT_NE(seq.block_table.at(p / options.block_len), kReleasedBlock)
          << "seq " << seq.id << " lost the block of position " << p << " inside its window";
      ASSERT_EQ(slot(seq, p), prefix_hash(seq.tokens, p)) << "seq " << seq.id << " has wrong KV at position " << p;
    }
  }

  uint64_t& slot(const Sequence& seq, int p) {
    return kv[size_t(seq.block_table.at(p / options.block_len)) * options.block_len + p % options.block_len];
  }

  SchedulerOptions options;
  Scheduler scheduler;
  std::vector<uint64_t> kv;
  std::vector<std::unique_ptr<Sequence>> live;
  std::map<uint64_t, std::vector<int32_t>> finished_tokens;
  uint64_t next_id = 1;
  int steps = 0;
};

}  // namespace turbine::test
