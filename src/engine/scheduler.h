// Decides what each forward step computes (continuous batching, TurboMind/vLLM style):
//   1. every running sequence in admission order: a decode (one token) for those generating, the
//      next prefill chunk for those still prefilling, under the step's prefill token budget;
//      a decode that needs a new block and finds none first makes idle sessions give way, then
//      preempts the newest running sequence (recompute: its blocks are released, it waits again at
//      the front of the queue and re-prefills, the prefix cache permitting);
//   2. waiting sequences, first come first served, while the batch, the budget and the free blocks
//      allow (prefix-cache and session reuse decide how much of each needs prefilling).
// Pure bookkeeping: the engine runs the step, then calls commit / append_token / finish.
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "engine/block_manager.h"
#include "engine/sequence.h"
#include "engine/session.h"

namespace turbine {

struct SchedulerOptions {
  int num_blocks = 0;
  int block_len = 64;
  int max_batch_size = 128;
  int max_prefill_token_num = 8192;
  int sliding_window = 0;  // the model's attention window (0: none); older blocks are released
};

struct ScheduledChunk {
  Sequence* seq = nullptr;
  int num_tokens = 0;    // tokens seq->tokens[num_computed .. num_computed+num_tokens) run this step
  bool samples = false;  // the chunk reaches the sequence's last token: sample from its logits
};

struct Schedule {
  std::vector<ScheduledChunk> chunks;
  int num_prefill_tokens = 0;  // tokens of chunks of prefilling sequences
  int num_decode_tokens = 0;
};

struct SchedulerStats {
  uint64_t preemptions = 0;
  uint64_t cached_prefix_tokens = 0;  // prompt tokens whose KV was reused at admission
  uint64_t sessions_given_way = 0;
  uint64_t window_released_blocks = 0;  // blocks released because they fell out of the sliding window
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerOptions& options);

  // Whether a sequence of up to max_tokens tokens fits the cache alone (else it could never run).
  bool fits(int max_tokens) const;
  // Queues a sequence (status Waiting). Precondition: fits(seq.max_tokens).
  void add(Sequence* seq);
  Schedule schedule();
  // After the step ran: the chunk's tokens have KV now; newly full blocks join the prefix cache.
  void commit(const ScheduledChunk& chunk);
  // A token sampled for seq joins it (its KV is computed by the next step).
  void append_token(Sequence& seq, int32_t token);
  // Removes a sequence wherever it is (finished, cancelled, failed). Its KV goes to its session
  // when it has one, else is released (published blocks stay Cached).
  void finish(Sequence& seq);
  // Ends a session once the turns already queued for it finish; its KV is released.
  void end_session(uint64_t id);

  bool has_work() const { return !waiting_.empty() || !running_.empty(); }
  size_t num_waiting() const { return waiting_.size(); }
  size_t num_running() const { return running_.size(); }
  const SchedulerStats& stats() const { return stats_; }
  const BlockManager& block_manager() const { return blocks_; }
  const SessionTable& sessions() const { return sessions_; }
  // Block-manager invariants over every holder (running/waiting sequences and sessions), plus the
  // sessions' own; throws std::logic_error.
  void check_invariants() const;

 private:
  enum class Admission { Admitted, Skipped, NoRoom };
  Admission admit(Sequence& seq);
  bool admit_from_prefix_cache(Sequence& seq);
  // Idle sessions give way until `blocks` more can be allocated (false if they cannot make it).
  bool make_room(int blocks);
  // Grows seq's table to cover num_tokens, preempting newer sequences if needed; false when seq
  // itself had to be preempted.
  bool grow(Sequence& seq, int num_tokens);
  void preempt(Sequence& victim);
  bool has_turn_of(uint64_t session_id) const;
  // With a sliding window: releases seq's blocks that end before the window of its next token.
  void release_out_of_window(Sequence& seq);
  // Whether a table's KV can serve a sequence that recomputes from position `tokens` on: no
  // released block may hold a key that position's window reads.
  bool window_intact(const std::vector<int32_t>& table, int tokens) const;

  SchedulerOptions options_;
  BlockManager blocks_;
  SessionTable sessions_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;  // admission order: the back is the newest
  SchedulerStats stats_;
};

}  // namespace turbine
