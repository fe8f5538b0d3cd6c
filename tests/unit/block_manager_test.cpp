#include "engine/block_manager.h"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace turbine;

namespace {
std::vector<const std::vector<int32_t>*> holders(std::initializer_list<const std::vector<int32_t>*> l) { return l; }
}  // namespace

TEST(BlockManager, AllocateAndReleaseUnpublishedGoesFree) {
  BlockManager bm(4, 2);
  std::vector<int32_t> table{bm.allocate(), bm.allocate()};
  EXPECT_EQ(table, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(bm.num_free(), 2);
  EXPECT_EQ(bm.num_active(), 2);
  bm.check_invariants(holders({&table}));
  bm.release_all(table);
  EXPECT_EQ(bm.num_free(), 4);
  EXPECT_EQ(bm.num_cached(), 0);
  bm.check_invariants({});
}

TEST(BlockManager, PublishedBlocksStayCachedAndMatchByChainedHash) {
  BlockManager bm(4, 2);
  const std::vector<int32_t> tokens{5, 6, 7, 8, 9};
  std::vector<int32_t> table{bm.allocate(), bm.allocate(), bm.allocate()};
  const uint64_t h0 = BlockManager::chain_hash(BlockManager::kRootHash, std::span(tokens).subspan(0, 2));
  const uint64_t h1 = BlockManager::chain_hash(h0, std::span(tokens).subspan(2, 2));
  EXPECT_TRUE(bm.publish(table[0], h0, std::span(tokens).subspan(0, 2)));
  EXPECT_TRUE(bm.publish(table[1], h1, std::span(tokens).subspan(2, 2)));
  bm.release_all(table);
  EXPECT_EQ(bm.num_cached(), 2);
  EXPECT_EQ(bm.num_free(), 2);
  EXPECT_EQ(bm.state(table[0]), BlockState::Cached);
  bm.check_invariants({});

  auto m = bm.match_prefix(std::vector<int32_t>{5, 6, 7, 8, 1}, 10);
  EXPECT_EQ(m.blocks, (std::vector<int32_t>{table[0], table[1]}));
  EXPECT_EQ(m.hashes, (std::vector<uint64_t>{h0, h1}));
  EXPECT_EQ(bm.match_prefix(std::vector<int32_t>{5, 6, 7, 8}, 1).blocks.size(), 1u);
  // Same second block after a different first block: no match (the hash chains).
  EXPECT_TRUE(bm.match_prefix(std::vector<int32_t>{5, 0, 7, 8}, 10).blocks.empty());
  EXPECT_EQ(bm.count_cached(m.blocks), 2);
  EXPECT_FALSE(bm.can_allocate(3, 2));
  EXPECT_TRUE(bm.can_allocate(2, 2));

  std::vector<int32_t> reuse = m.blocks;
  for (int32_t b : reuse) bm.acquire(b);
  EXPECT_EQ(bm.state(reuse[0]), BlockState::Active);
  bm.acquire(reuse[0]);  // a second holder
  std::vector<int32_t> other{reuse[0]};
  bm.check_invariants(holders({&reuse, &other}));
  EXPECT_THROW(bm.check_invariants(holders({&reuse})), std::logic_error);  // ref_count 2, one holder named
}

TEST(BlockManager, EvictsLeastRecentlyCachedFirst) {
  BlockManager bm(2, 1);
  const std::vector<int32_t> a{1}, b{2};
  int32_t x = bm.allocate(), y = bm.allocate();
  const uint64_t ha = BlockManager::chain_hash(BlockManager::kRootHash, a);
  const uint64_t hb = BlockManager::chain_hash(BlockManager::kRootHash, b);
  bm.publish(x, ha, a);
  bm.publish(y, hb, b);
  bm.release(x);  // cached first: evicted first
  bm.release(y);
  EXPECT_EQ(bm.num_available(), 2);
  int32_t z = bm.allocate();
  EXPECT_EQ(z, x);
  EXPECT_TRUE(bm.match_prefix(a, 1).blocks.empty());
  EXPECT_EQ(bm.match_prefix(b, 1).blocks, std::vector<int32_t>{y});
  std::vector<int32_t> t{z};
  bm.check_invariants(holders({&t}));
  bm.release(z);
  EXPECT_THROW(bm.release(z), std::logic_error);
}

TEST(BlockManager, DuplicatePublishIsRefusedAndUnpublishWithdraws) {
  BlockManager bm(3, 2);
  const std::vector<int32_t> t{4, 4};
  const uint64_t h = BlockManager::chain_hash(BlockManager::kRootHash, t);
  int32_t a = bm.allocate(), b = bm.allocate();
  EXPECT_TRUE(bm.publish(a, h, t));
  EXPECT_FALSE(bm.publish(b, h, t));
  EXPECT_FALSE(bm.is_published(b));
  bm.unpublish(a);
  EXPECT_TRUE(bm.match_prefix(t, 1).blocks.empty());
  bm.release(a);
  bm.release(b);
  EXPECT_EQ(bm.num_free(), 3);
  bm.check_invariants({});
}

TEST(BlockManager, AllocateWithNothingAvailableIsALogicError) {
  BlockManager bm(1, 4);
  bm.allocate();
  EXPECT_THROW(bm.allocate(), std::logic_error);
}
