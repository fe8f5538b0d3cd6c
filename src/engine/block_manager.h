// KV-cache block bookkeeping: which physical blocks are free, held by sequences/sessions, or
// kept as a reusable prefix. No tensors here; the runner turns block ids into cache slots.
//
// States (every block is in exactly one):
//   Free   : ref_count 0, no hash, on the free list.
//   Active : ref_count > 0 (one per holder: a running sequence or an idle session); may carry a
//            hash when it is a full, computed block published for prefix reuse.
//   Cached : ref_count 0 but published (hash in the index): its KV stays valid for a later
//            request with the same prefix; evicted least-recently-released first when Free runs out.
// Prefix hashes chain: hash(block i) = chain_hash(hash(block i-1), tokens of block i), so a hit
// means the whole prefix up to and including that block matches.
#pragma once
#include "backend/batch_input.h"
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace turbine {

enum class BlockState { Free, Active, Cached };

struct PrefixMatch {
  std::vector<int32_t> blocks;   // physical blocks holding the matched leading full blocks
  std::vector<uint64_t> hashes;  // their chained hashes
};

class BlockManager {
 public:
  BlockManager(int num_blocks, int block_len);

  static uint64_t chain_hash(uint64_t prev_hash, std::span<const int32_t> tokens);
  static constexpr uint64_t kRootHash = 0x9e3779b97f4a7c15ull;

  int num_blocks() const { return int(blocks_.size()); }
  int block_len() const { return block_len_; }
  int blocks_for(int64_t num_tokens) const { return int((num_tokens + block_len_ - 1) / block_len_); }
  int num_free() const { return int(free_.size()); }
  int num_cached() const { return int(lru_.size()); }
  int num_active() const { return num_blocks() - num_free() - num_cached(); }
  // Blocks a fresh allocation can take (Free plus evictable Cached).
  int num_available() const { return num_free() + num_cached(); }

  BlockState state(int32_t block) const { return blocks_.at(block).state; }
  int ref_count(int32_t block) const { return blocks_.at(block).ref_count; }
  bool is_published(int32_t block) const { return blocks_.at(block).hash.has_value(); }

  // The longest run of leading full blocks of `tokens` that the cache holds (at most max_blocks).
  PrefixMatch match_prefix(std::span<const int32_t> tokens, int max_blocks) const;
  // How many of `blocks` are Cached (acquiring them removes them from what allocate can take).
  int count_cached(std::span<const int32_t> blocks) const;
  // Whether `num_new` fresh blocks can be allocated after pinning `pinned_cached` Cached blocks.
  bool can_allocate(int num_new, int pinned_cached = 0) const { return num_available() - pinned_cached >= num_new; }

  // Adds a holder to a published (Active or Cached) block.
  void acquire(int32_t block);
  // A fresh block with one holder; evicts the least recently used Cached block when none is Free.
  // Precondition: num_available() > 0 (a logic_error otherwise).
  int32_t allocate();
  // Drops one holder; the last one leaves the block Cached if published, else Free.
  void release(int32_t block);
  // Skips kReleasedBlock entries (batch_input.h: blocks released out of a sliding window).
  void release_all(std::span<const int32_t> blocks);

  // Publishes a full, computed Active block under `hash`. Returns false (and leaves the block
  // unpublished) when another block already holds that hash, or true if published (or it already was).
  bool publish(int32_t block, uint64_t hash, std::span<const int32_t> tokens);
  // Withdraws an Active block from the index before its holder overwrites part of it.
  void unpublish(int32_t block);

  // Throws std::logic_error naming the first broken rule: states agree with the free list, the LRU
  // set and the index; every block's ref_count equals how often it appears in `holders`.
  void check_invariants(std::span<const std::vector<int32_t>* const> holders) const;

 private:
  struct Block {
    BlockState state = BlockState::Free;
    int ref_count = 0;
    std::optional<uint64_t> hash;
    std::vector<int32_t> tokens;  // the block's token ids while published (guards against collisions)
    uint64_t released_at = 0;     // LRU clock when it became Cached
  };
  void evict_one();

  int block_len_;
  std::vector<Block> blocks_;
  std::vector<int32_t> free_;                    // stack; lowest ids handed out first
  std::set<std::pair<uint64_t, int32_t>> lru_;   // Cached blocks by (released_at, id)
  std::unordered_map<uint64_t, int32_t> index_;  // hash -> published block
  uint64_t clock_ = 0;
};

}  // namespace turbine
