#include "engine/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace turbine {

Session* SessionTable::find(uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

const Session* SessionTable::find(uint64_t id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

Session& SessionTable::open(uint64_t id) {
  Session& s = sessions_[id];
  s.id = id;
  return s;
}

SessionReuse SessionTable::plan_reuse(const Session& s, const Sequence& seq, const BlockManager& bm) const {
  SessionReuse r;
  if (s.blocks.empty() || seq.tokens.empty()) return r;
  const size_t limit = std::min(s.tokens.size(), seq.tokens.size() - 1);
  size_t common = 0;
  while (common < limit && s.tokens[common] == seq.tokens[common]) ++common;
  const int len = bm.block_len();
  const int full = int(common) / len;
  r.kept_blocks = full;
  r.reused_tokens = full * len;
  const bool partial = common % len != 0;
  if (partial && full < int(s.blocks.size()) && s.blocks[full] != kReleasedBlock && bm.ref_count(s.blocks[full]) == 1) {
    r.kept_blocks = full + 1;
    r.reused_tokens = int(common);
    r.unpublish_last = bm.is_published(s.blocks[full]);
  }
  return r;
}

void SessionTable::begin_turn(Session& s, Sequence& seq, const SessionReuse& reuse, BlockManager& bm) {
  if (!seq.block_table.empty()) throw std::logic_error("session: turn sequence already holds blocks");
  seq.block_table.assign(s.blocks.begin(), s.blocks.begin() + reuse.kept_blocks);
  bm.release_all(std::span(s.blocks).subspan(reuse.kept_blocks));
  if (reuse.unpublish_last) bm.unpublish(seq.block_table.back());
  const size_t full = size_t(reuse.reused_tokens / bm.block_len());
  seq.block_hashes.assign(s.block_hashes.begin(), s.block_hashes.begin() + std::min(full, s.block_hashes.size()));
  seq.num_computed = reuse.reused_tokens;
  seq.num_cached_prefix = reuse.reused_tokens;
  s.blocks.clear();
  s.block_hashes.clear();
  s.tokens.clear();
  s.turn = seq.id;
  s.last_used = ++clock_;
}

void SessionTable::end_turn(Session& s, Sequence& seq, BlockManager& bm) {
  if (s.turn != seq.id) throw std::logic_error("session: end of a turn that is not running");
  give_way(s, bm);
  const int keep = bm.blocks_for(seq.num_computed);
  bm.release_all(std::span(seq.block_table).subspan(std::min<size_t>(keep, seq.block_table.size())));
  seq.block_table.resize(std::min<size_t>(keep, seq.block_table.size()));
  s.tokens.assign(seq.tokens.begin(), seq.tokens.begin() + seq.num_computed);
  s.blocks = std::move(seq.block_table);
  s.block_hashes = std::move(seq.block_hashes);
  seq.block_table.clear();
  seq.block_hashes.clear();
  if (s.blocks.size() != size_t(keep)) {  // preempted mid-turn: nothing (complete) to keep
    bm.release_all(s.blocks);
    s.blocks.clear();
    s.tokens.clear();
    s.block_hashes.clear();
  }
  s.turn = 0;
  s.last_used = ++clock_;
}

void SessionTable::give_way(Session& s, BlockManager& bm) {
  bm.release_all(s.blocks);
  s.blocks.clear();
  s.block_hashes.clear();
  s.tokens.clear();
}

bool SessionTable::give_way_lru(BlockManager& bm) {
  Session* oldest = nullptr;
  for (auto& [id, s] : sessions_)
    if (s.turn == 0 && !s.blocks.empty() && (!oldest || s.last_used < oldest->last_used)) oldest = &s;
  if (!oldest) return false;
  give_way(*oldest, bm);
  return true;
}

void SessionTable::end(uint64_t id, BlockManager& bm) {
  Session* s = find(id);
  if (!s) return;
  if (s->turn != 0) {
    s->end_requested = true;
    return;
  }
  give_way(*s, bm);
  sessions_.erase(id);
}

void SessionTable::collect_holders(std::vector<const std::vector<int32_t>*>& out) const {
  for (const auto& [id, s] : sessions_) out.push_back(&s.blocks);
}

void SessionTable::check_invariants(const BlockManager& bm) const {
  for (const auto& [id, s] : sessions_) {
    if (s.blocks.empty() && s.tokens.empty()) continue;
    if (s.turn != 0) throw std::logic_error(fmt::format("session {}: busy but holds blocks", id));
    if (int(s.blocks.size()) != bm.blocks_for(int64_t(s.tokens.size())))
      throw std::logic_error(fmt::format("session {}: {} blocks for {} tokens", id, s.blocks.size(), s.tokens.size()));
    if (s.block_hashes.size() != s.tokens.size() / size_t(bm.block_len()))
      throw std::logic_error(
          fmt::format("session {}: {} hashes for {} tokens", id, s.block_hashes.size(), s.tokens.size()));
  }
}

}  // namespace turbine
