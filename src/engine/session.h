// Stateful multi-turn sessions. Between turns a session holds the KV of its conversation (the
// tokens computed so far: prompt + generated, minus the last sampled token which never ran), so
// the next turn prefills only from the first token that differs. Idle sessions give their blocks
// back under memory pressure (published full blocks stay Cached, so the prefix cache may still
// serve them); ending a session does the same and forgets it.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "engine/block_manager.h"
#include "engine/sequence.h"

namespace turbine {

struct Session {
  uint64_t id = 0;
  std::vector<int32_t> tokens;         // conversation tokens whose KV `blocks` hold
  std::vector<int32_t> blocks;         // exactly blocks_for(tokens.size()) blocks, or none
  std::vector<uint64_t> block_hashes;  // chained hashes of the full blocks of `tokens`
  uint64_t turn = 0;                   // id of the sequence running this session's turn; 0 = idle
  uint64_t last_used = 0;
  bool end_requested = false;  // end when its queued/running turns finish
};

// What a new turn keeps of its session's KV.
struct SessionReuse {
  int kept_blocks = 0;
  int reused_tokens = 0;        // positions 0..reused_tokens-1 need no prefill
  bool unpublish_last = false;  // the last kept block will be partly overwritten
};

class SessionTable {
 public:
  Session* find(uint64_t id);
  const Session* find(uint64_t id) const;
  Session& open(uint64_t id);

  // Longest common prefix of the session's tokens and the turn's, leaving at least one token to
  // compute (its logits pick the first reply token). Keeps a partly matching last block only when
  // the session is its sole holder (it will be overwritten from the first differing token).
  SessionReuse plan_reuse(const Session& s, const Sequence& seq, const BlockManager& bm) const;
  // Moves the kept blocks into seq (which must have none), releases the rest; the session is busy.
  void begin_turn(Session& s, Sequence& seq, const SessionReuse& reuse, BlockManager& bm);
  // The turn is over: the session takes seq's computed tokens and their blocks.
  void end_turn(Session& s, Sequence& seq, BlockManager& bm);
  // Drops the session's hold on its blocks (it keeps its identity; the next turn starts cold).
  void give_way(Session& s, BlockManager& bm);
  // The least recently used idle session holding blocks gives way; false when there is none.
  bool give_way_lru(BlockManager& bm);
  // Ends a session now (idle) or when its turn finishes (busy). Unknown ids are ignored.
  void end(uint64_t id, BlockManager& bm);

  size_t size() const { return sessions_.size(); }
  void collect_holders(std::vector<const std::vector<int32_t>*>& out) const;
  // Throws std::logic_error when a session's blocks do not match its tokens.
  void check_invariants(const BlockManager& bm) const;

 private:
  std::map<uint64_t, Session> sessions_;
  uint64_t clock_ = 0;
};

}  // namespace turbine
