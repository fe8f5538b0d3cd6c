// One request's bookkeeping as the scheduler sees it: its tokens, how many of them have KV in
// the cache, and the blocks that hold that KV. Sampling and text state live in the engine.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

namespace turbine {

enum class SequenceStatus { Waiting, Running, Finished };

struct Sequence {
  uint64_t id = 0;
  std::optional<uint64_t> session_id;
  std::vector<int32_t> tokens;  // prompt + generated
  int prompt_len = 0;
  int max_tokens = 0;  // tokens.size() never exceeds this (prompt + max_new_tokens, <= session_len)
  SequenceStatus status = SequenceStatus::Waiting;

  int num_computed = 0;                // leading tokens whose KV is in the cache
  int num_cached_prefix = 0;           // of those, reused from the cache at the last admission
  bool prefilling = true;              // until the first token is sampled after an admission
  std::vector<int32_t> block_table;    // physical blocks covering positions 0..(blocks*len - 1)
  std::vector<uint64_t> block_hashes;  // chained hashes of the leading full computed blocks

  Sequence() = default;
  Sequence(uint64_t id, std::vector<int32_t> prompt, int max_tokens, std::optional<uint64_t> session = {});

  int num_tokens() const { return int(tokens.size()); }
  int num_generated() const { return num_tokens() - prompt_len; }
  int num_uncomputed() const { return num_tokens() - num_computed; }
  // Drops all cache state (after preemption: the sequence recomputes from scratch, prefix cache aside).
  void reset_cache_state();
};

}  // namespace turbine
