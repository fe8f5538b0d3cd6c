#include "engine/scheduler.h"

#include <algorithm>
#include <stdexcept>

namespace turbine {

Scheduler::Scheduler(const SchedulerOptions& options)
    : options_(options), blocks_(options.num_blocks, options.block_len) {
  if (options.max_batch_size <= 0 || options.max_prefill_token_num <= 0)
    throw std::logic_error("scheduler: max_batch_size and max_prefill_token_num must be positive");
}

bool Scheduler::fits(int max_tokens) const { return blocks_.blocks_for(max_tokens) <= blocks_.num_blocks(); }

void Scheduler::add(Sequence* seq) {
  if (!fits(seq->max_tokens)) throw std::logic_error("scheduler: sequence can never fit the cache");
  if (seq->tokens.empty()) throw std::logic_error("scheduler: empty sequence");
  seq->status = SequenceStatus::Waiting;
  waiting_.push_back(seq);
}

bool Scheduler::make_room(int blocks) {
  while (!blocks_.can_allocate(blocks)) {
    if (!sessions_.give_way_lru(blocks_)) return false;
    ++stats_.sessions_given_way;
  }
  return true;
}

void Scheduler::preempt(Sequence& victim) {
  running_.erase(std::find(running_.begin(), running_.end(), &victim));
  blocks_.release_all(victim.block_table);
  victim.reset_cache_state();
  victim.status = SequenceStatus::Waiting;
  waiting_.push_front(&victim);
  ++stats_.preemptions;
}

bool Scheduler::grow(Sequence& seq, int num_tokens) {
  while (int(seq.block_table.size()) < blocks_.blocks_for(num_tokens)) {
    if (make_room(1)) {
      seq.block_table.push_back(blocks_.allocate());
      continue;
    }
    Sequence* victim = running_.back();
    preempt(*victim);
    if (victim == &seq) return false;
  }
  return true;
}

bool Scheduler::admit_from_prefix_cache(Sequence& seq) {
  const int total = blocks_.blocks_for(seq.num_tokens());
  // Leave at least the last token to compute: its logits give the next token.
  const PrefixMatch match = blocks_.match_prefix(seq.tokens, (seq.num_tokens() - 1) / blocks_.block_len());
  const int pinned = blocks_.count_cached(match.blocks);
  const int fresh = total - int(match.blocks.size());
  if (!make_room(fresh + pinned)) return false;
  for (int32_t b : match.blocks) blocks_.acquire(b);
  seq.block_table = match.blocks;
  seq.block_hashes = match.hashes;
  for (int i = 0; i < fresh; ++i) seq.block_table.push_back(blocks_.allocate());
  seq.num_computed = int(match.blocks.size()) * blocks_.block_len();
  seq.num_cached_prefix = seq.num_computed;
  return true;
}

Scheduler::Admission Scheduler::admit(Sequence& seq) {
  Session* session = nullptr;
  uint64_t prior_turn = 0;
  if (seq.session_id) {
    session = &sessions_.open(*seq.session_id);
    if (session->turn != 0 && session->turn != seq.id) return Admission::Skipped;  // an earlier turn runs
    prior_turn = session->turn;
    session->turn = seq.id;  // busy from here on, so make_room never picks it
  }
  bool admitted = false;
  if (session && !session->blocks.empty()) {
    SessionReuse reuse = sessions_.plan_reuse(*session, seq, blocks_);
    // A turn that diverges from the session inside a released window recomputes from the start.
    if (!window_intact(session->blocks, reuse.reused_tokens)) reuse = SessionReuse{};
    const int fresh = blocks_.blocks_for(seq.num_tokens()) - reuse.kept_blocks;
    if (make_room(fresh)) {
      sessions_.begin_turn(*session, seq, reuse, blocks_);
      for (int i = 0; i < fresh; ++i) seq.block_table.push_back(blocks_.allocate());
      admitted = true;
    } else if (running_.empty()) {
      sessions_.give_way(*session, blocks_);  // nothing else runs: trade its KV for room
      ++stats_.sessions_given_way;
    } else {
      session->turn = prior_turn;
      return Admission::NoRoom;
    }
  }
  if (!admitted && !admit_from_prefix_cache(seq)) {
    if (session) session->turn = prior_turn;
    return Admission::NoRoom;
  }
  stats_.cached_prefix_tokens += uint64_t(seq.num_cached_prefix);
  seq.prefilling = true;
  seq.status = SequenceStatus::Running;
  running_.push_back(&seq);
  return Admission::Admitted;
}

Schedule Scheduler::schedule() {
  Schedule s;
  int budget = options_.max_prefill_token_num;
  for (size_t i = 0; i < running_.size(); ++i) {
    Sequence& seq = *running_[i];
    const int remaining = seq.num_uncomputed();
    if (!seq.prefilling && remaining == 1) {
      if (!grow(seq, seq.num_tokens())) break;  // seq itself was preempted (it was the newest)
      s.chunks.push_back({&seq, 1, true});
      ++s.num_decode_tokens;
    } else if (budget > 0) {
      const int n = std::min(remaining, budget);
      budget -= n;
      s.chunks.push_back({&seq, n, n == remaining});
      s.num_prefill_tokens += n;
    }
  }
  while (budget > 0 && int(running_.size()) < options_.max_batch_size) {
    bool progressed = false;
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      Sequence& seq = **it;
      const Admission a = admit(seq);
      if (a == Admission::Skipped) continue;
      if (a == Admission::NoRoom) break;
      waiting_.erase(it);
      const int remaining = seq.num_uncomputed();
      const int n = std::min(remaining, budget);
      budget -= n;
      s.chunks.push_back({&seq, n, n == remaining});
      s.num_prefill_tokens += n;
      progressed = true;
      break;
    }
    if (!progressed) break;
  }
  return s;
}

void Scheduler::commit(const ScheduledChunk& chunk) {
  Sequence& seq = *chunk.seq;
  seq.num_computed += chunk.num_tokens;
  if (seq.num_computed > seq.num_tokens()) throw std::logic_error("scheduler: computed past the known tokens");
  const int len = blocks_.block_len();
  while (int(seq.block_hashes.size() + 1) * len <= seq.num_computed) {
    const size_t i = seq.block_hashes.size();
    const uint64_t prev = i == 0 ? BlockManager::kRootHash : seq.block_hashes.back();
    auto block_tokens = std::span<const int32_t>(seq.tokens).subspan(i * len, len);
    const uint64_t h = BlockManager::chain_hash(prev, block_tokens);
    blocks_.publish(seq.block_table[i], h, block_tokens);
    seq.block_hashes.push_back(h);
  }
  if (chunk.samples) seq.prefilling = false;
  if (options_.sliding_window > 0) release_out_of_window(seq);
}

void Scheduler::release_out_of_window(Sequence& seq) {
  // The next query sits at position num_computed and reads keys from num_computed - window + 1 on;
  // every block that ends before that is dead for this sequence (a prefix of its table).
  const int first_key = seq.num_computed - options_.sliding_window + 1;
  const int dead = std::min<int>(std::max(first_key, 0) / blocks_.block_len(), int(seq.block_table.size()));
  for (int b = dead - 1; b >= 0 && seq.block_table[b] != kReleasedBlock; --b) {
    blocks_.release(seq.block_table[b]);
    seq.block_table[b] = kReleasedBlock;
    ++stats_.window_released_blocks;
  }
}

bool Scheduler::window_intact(const std::vector<int32_t>& table, int tokens) const {
  int released = 0;
  while (released < int(table.size()) && table[released] == kReleasedBlock) ++released;
  if (released == 0 || tokens == 0) return true;
  return released * blocks_.block_len() <= tokens - options_.sliding_window + 1;
}

void Scheduler::append_token(Sequence& seq, int32_t token) {
  if (seq.num_tokens() >= seq.max_tokens) throw std::logic_error("scheduler: sequence past its max_tokens");
  seq.tokens.push_back(token);
}

void Scheduler::finish(Sequence& seq) {
  if (auto it = std::find(running_.begin(), running_.end(), &seq); it != running_.end()) running_.erase(it);
  if (auto it = std::find(waiting_.begin(), waiting_.end(), &seq); it != waiting_.end()) waiting_.erase(it);
  Session* session = seq.session_id ? sessions_.find(*seq.session_id) : nullptr;
  if (session && session->turn == seq.id) {
    sessions_.end_turn(*session, seq, blocks_);
  } else {
    blocks_.release_all(seq.block_table);
    seq.block_table.clear();
  }
  if (session && session->end_requested && !has_turn_of(session->id)) sessions_.end(session->id, blocks_);
  seq.reset_cache_state();
  seq.status = SequenceStatus::Finished;
}

bool Scheduler::has_turn_of(uint64_t session_id) const {
  auto of = [&](const Sequence* s) { return s->session_id == session_id; };
  return std::any_of(waiting_.begin(), waiting_.end(), of) || std::any_of(running_.begin(), running_.end(), of);
}

void Scheduler::end_session(uint64_t id) {
  if (has_turn_of(id)) {
    sessions_.open(id).end_requested = true;  // after the turns submitted before the end
  } else {
    sessions_.end(id, blocks_);
  }
}

void Scheduler::check_invariants() const {
  std::vector<const std::vector<int32_t>*> holders;
  for (const Sequence* seq : running_) {
    holders.push_back(&seq->block_table);
    if (int(seq->block_table.size()) < blocks_.blocks_for(seq->num_computed))
      throw std::logic_error("scheduler: a running sequence's blocks do not cover its computed tokens");
  }
  for (const Sequence* seq : waiting_)
    if (!seq->block_table.empty()) throw std::logic_error("scheduler: a waiting sequence holds blocks");
  sessions_.collect_holders(holders);
  blocks_.check_invariants(holders);
  sessions_.check_invariants(blocks_);
}

}  // namespace turbine
