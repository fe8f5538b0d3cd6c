#include "engine/block_manager.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace turbine {

namespace {
[[noreturn]] void broken(const std::string& what) { throw std::logic_error("block manager: " + what); }

uint64_t mix(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}
}  // namespace

BlockManager::BlockManager(int num_blocks, int block_len) : block_len_(block_len), blocks_(num_blocks) {
  if (num_blocks <= 0 || block_len <= 0) broken(fmt::format("bad geometry {} x {}", num_blocks, block_len));
  free_.reserve(num_blocks);
  for (int32_t b = num_blocks - 1; b >= 0; --b) free_.push_back(b);
}

uint64_t BlockManager::chain_hash(uint64_t prev_hash, std::span<const int32_t> tokens) {
  uint64_t h = mix(prev_hash ^ 0x51ed270b27cd6b3dull);
  for (int32_t t : tokens) h = mix(h ^ (uint64_t(uint32_t(t)) + 0x9e3779b97f4a7c15ull));
  return h;
}

PrefixMatch BlockManager::match_prefix(std::span<const int32_t> tokens, int max_blocks) const {
  PrefixMatch m;
  uint64_t prev = kRootHash;
  const int full = std::min<int>(max_blocks, int(tokens.size() / block_len_));
  for (int i = 0; i < full; ++i) {
    auto chunk = tokens.subspan(size_t(i) * block_len_, block_len_);
    const uint64_t h = chain_hash(prev, chunk);
    auto it = index_.find(h);
    if (it == index_.end()) break;
    const Block& b = blocks_[it->second];
    if (!std::equal(chunk.begin(), chunk.end(), b.tokens.begin(), b.tokens.end())) break;
    m.blocks.push_back(it->second);
    m.hashes.push_back(h);
    prev = h;
  }
  return m;
}

int BlockManager::count_cached(std::span<const int32_t> blocks) const {
  int n = 0;
  for (int32_t b : blocks) n += blocks_.at(b).state == BlockState::Cached;
  return n;
}

void BlockManager::acquire(int32_t id) {
  Block& b = blocks_.at(id);
  if (b.state == BlockState::Free) broken(fmt::format("acquire of free block {}", id));
  if (b.state == BlockState::Cached) {
    lru_.erase({b.released_at, id});
    b.state = BlockState::Active;
  }
  ++b.ref_count;
}

void BlockManager::evict_one() {
  if (lru_.empty()) broken("allocate with no free or cached block");
  const int32_t id = lru_.begin()->second;
  lru_.erase(lru_.begin());
  Block& b = blocks_[id];
  index_.erase(*b.hash);
  b.hash.reset();
  b.tokens.clear();
  b.state = BlockState::Free;
  free_.push_back(id);
}

int32_t BlockManager::allocate() {
  if (free_.empty()) evict_one();
  const int32_t id = free_.back();
  free_.pop_back();
  Block& b = blocks_[id];
  b.state = BlockState::Active;
  b.ref_count = 1;
  return id;
}

void BlockManager::release(int32_t id) {
  Block& b = blocks_.at(id);
  if (b.state != BlockState::Active || b.ref_count <= 0) broken(fmt::format("release of unheld block {}", id));
  if (--b.ref_count > 0) return;
  if (b.hash) {
    b.state = BlockState::Cached;
    b.released_at = ++clock_;
    lru_.insert({b.released_at, id});
  } else {
    b.state = BlockState::Free;
    free_.push_back(id);
  }
}

void BlockManager::release_all(std::span<const int32_t> blocks) {
  // Release the tail first so a prefix's earlier blocks stay in the cache longer than its later ones.
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it)
    if (*it != kReleasedBlock) release(*it);
}

bool BlockManager::publish(int32_t id, uint64_t hash, std::span<const int32_t> tokens) {
  Block& b = blocks_.at(id);
  if (b.state != BlockState::Active) broken(fmt::format("publish of block {} that no one holds", id));
  if (int(tokens.size()) != block_len_) broken("publish of a partial block");
  if (b.hash) return true;
  if (index_.count(hash)) return false;
  b.hash = hash;
  b.tokens.assign(tokens.begin(), tokens.end());
  index_.emplace(hash, id);
  return true;
}

void BlockManager::unpublish(int32_t id) {
  Block& b = blocks_.at(id);
  if (b.state != BlockState::Active) broken(fmt::format("unpublish of block {} that no one holds", id));
  if (!b.hash) return;
  index_.erase(*b.hash);
  b.hash.reset();
  b.tokens.clear();
}

void BlockManager::check_invariants(std::span<const std::vector<int32_t>* const> holders) const {
  const int n = num_blocks();
  std::vector<int> holds(n, 0);
  for (const auto* table : holders)
    for (int32_t b : *table) {
      if (b == kReleasedBlock) continue;
      if (b < 0 || b >= n) broken(fmt::format("a holder names block {} outside 0..{}", b, n - 1));
      ++holds[b];
    }
  std::vector<int> on_free(n, 0);
  for (int32_t b : free_) ++on_free[b];
  std::vector<int> in_lru(n, 0);
  for (auto [t, b] : lru_) {
    ++in_lru[b];
    if (blocks_[b].released_at != t) broken(fmt::format("block {} has a stale LRU entry", b));
  }
  for (auto [h, b] : index_)
    if (!blocks_[b].hash || *blocks_[b].hash != h) broken(fmt::format("index entry for block {} disagrees", b));
  size_t published = 0;
  for (int b = 0; b < n; ++b) {
    const Block& blk = blocks_[b];
    if (blk.ref_count != holds[b])
      broken(fmt::format("block {} has ref_count {} but {} holders", b, blk.ref_count, holds[b]));
    if (blk.hash) {
      ++published;
      auto it = index_.find(*blk.hash);
      if (it == index_.end() || it->second != b) broken(fmt::format("block {} hash missing from index", b));
    }
    switch (blk.state) {
      case BlockState::Free:
        if (on_free[b] != 1 || in_lru[b] || blk.ref_count || blk.hash)
          broken(fmt::format("free block {} is not exactly on the free list", b));
        break;
      case BlockState::Active:
        if (on_free[b] || in_lru[b] || blk.ref_count <= 0) broken(fmt::format("active block {} misfiled", b));
        break;
      case BlockState::Cached:
        if (on_free[b] || in_lru[b] != 1 || blk.ref_count || !blk.hash)
          broken(fmt::format("cached block {} misfiled", b));
        break;
    }
  }
  if (published != index_.size()) broken("index holds blocks that are not published");
}

}  // namespace turbine
