// The host side of the tiled 4-bit GEMM (gemm/int4_tiled_gemm.h), which needs no GPU and so runs in
// every CUDA build: the launch plan covers every output row and token once, splits K only as far as
// the split-K counters (mma.sync; wgmma: the cluster size) and the chunks allow, and sizes the partial
// sums as the kernel indexes them;
// the K splits partition the chunks; the staged activation layout is a bijection whose B-fragment
// reads are free of shared-memory bank conflicts.
#ifdef TURBINE_WITH_CUDA
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

#include "backend/cuda/gemm/int4_tiled_gemm.h"

namespace turbine::cuda {
namespace {

TEST(Int4TiledPlan, CoversTheProductAndSplitsWithinItsLimits) {
  for (bool wgmma : {false, true})
    for (int group : {32, 128})
      for (int sms : {1, 8, 78, 132})
        for (int64_t n : {1, 15, 16, 129, 1000, 4096, 22016})
          for (int64_t k : {32, 64, 96, 1024, 4096, 11008})
            for (int tokens : {9, 16, 17, 32, 33, 64, 65, 200, 2048}) {
              SCOPED_TRACE(testing::Message() << "sms=" << sms << " n=" << n << " k=" << k << " tokens=" << tokens
                                              << " group=" << group << " wgmma=" << wgmma);
              const Int4Layout layout{n, k, group};
              const int max_counters = 2 * sms;
              const Int4TiledPlan p = plan_int4_tiled_gemm(layout, tokens, sms, max_counters, wgmma);
              const int chunks = int(layout.k_padded() / 64);
              ASSERT_TRUE(p.token_tile == 16 || p.token_tile == 32 || p.token_tile == 64);
              // The smallest tile that holds all tokens, else 64-token tiles side by side.
              EXPECT_EQ(p.token_tile, tokens <= 16 ? 16 : tokens <= 32 ? 32 : 64);
              EXPECT_GE(p.token_tiles * p.token_tile, tokens);
              EXPECT_LT((p.token_tiles - 1) * p.token_tile, tokens);
              // wgmma takes every tile of power-of-two group sizes of at least 64.
              EXPECT_EQ(p.wgmma, wgmma && layout.group_size >= 64);
              EXPECT_EQ(p.blocks_per_sm, p.wgmma ? kInt4WgmmaBlocksPerSm : p.token_tile == 64 ? 3 : 2);
              EXPECT_GE(int64_t(p.row_blocks) * kInt4TiledRows, layout.n_padded());
              EXPECT_LT(int64_t(p.row_blocks - 1) * kInt4TiledRows, layout.n_padded());
              ASSERT_GE(p.splits, 1);
              EXPECT_EQ(p.blocks(), p.row_blocks * p.token_tiles * p.splits);
              if (p.splits == 1) {
                EXPECT_EQ(p.workspace_bytes, 0u);
                EXPECT_EQ(p.counters, 0);
                continue;
              }
              // Split only while the tiles alone are fewer than the resident blocks, each split >= 4 chunks.
              EXPECT_LT(p.tiles(), p.blocks_per_sm * sms);
              EXPECT_LE(p.splits, chunks / 4);
              EXPECT_LE(p.splits, 16);
              if (p.wgmma) {
                // A tile's splits are one thread-block cluster, which adds them in shared memory.
                EXPECT_LE(p.splits, kInt4WgmmaMaxSplits);
                EXPECT_EQ(p.workspace_bytes, 0u);
                EXPECT_EQ(p.counters, 0);
                continue;
              }
              EXPECT_EQ(p.counters, p.tiles());
              EXPECT_LE(p.counters, max_counters);
              // One fp32 partial per output element of each block (its rows x its token tile).
              EXPECT_EQ(p.workspace_bytes, size_t(p.blocks()) * kInt4TiledRows * p.token_tile * sizeof(float));
            }
}

// Blocks beyond the resident slots (the plan's blocks_per_sm per SM) run as another wave. A split launch
// fills one wave, or its last wave at least half: 96 tiles split 3 ways on 132 SMs with two slots each
// (288 blocks, a second wave of 24 that takes as long as the first) is what the plan must not do.
TEST(Int4TiledPlan, SplitLaunchesLeaveNoSmallLastWave) {
  for (bool wgmma : {false, true})
    for (int sms : {8, 78, 132})
      for (int64_t n : {129, 1000, 4096, 12288, 22016})
        for (int64_t k : {1024, 4096, 11008})
          for (int tokens : {9, 16, 32, 64}) {
            SCOPED_TRACE(testing::Message()
                         << "sms=" << sms << " n=" << n << " k=" << k << " tokens=" << tokens << " wgmma=" << wgmma);
            // Counters for the most resident blocks of any token tile: the plan splits only below its slots.
            const Int4TiledPlan p =
                plan_int4_tiled_gemm(Int4Layout{n, k, 128}, tokens, sms, kInt4TiledMostBlocksPerSm * sms, wgmma);
            if (p.splits == 1) continue;
            const int slots = p.blocks_per_sm * sms, last = p.blocks() % slots;
            EXPECT_TRUE(last == 0 || p.blocks() < slots || 2 * last >= slots) << p.blocks() << " blocks";
          }
}

// Llama-2-7B's four projections at 64 tokens on an H100 (132 SMs): each launch fits its blocks in the
// resident slots or fills its waves. On wgmma one wave stays within 7/8 of the slots: on an H200, qkv
// split 4 ways (384 of 396) took 35.8 us, split 3 ways (288) 27.6.
TEST(Int4TiledPlan, SevenBLayerAtSixtyFourTokensFillsItsWaves) {
  const int sms = 132;
  for (bool wgmma : {false, true})
    for (const auto& [n, k] : {std::pair<int64_t, int64_t>{12288, 4096}, {4096, 4096}, {22016, 4096}, {4096, 11008}}) {
      const Int4TiledPlan p =
          plan_int4_tiled_gemm(Int4Layout{n, k, 128}, 64, sms, kInt4TiledMostBlocksPerSm * sms, wgmma);
      const int slots = p.blocks_per_sm * sms;
      EXPECT_EQ(p.wgmma, wgmma);
      SCOPED_TRACE(testing::Message() << "n=" << n << " k=" << k << " splits=" << p.splits << " wgmma=" << wgmma);
      EXPECT_GT(p.splits, 1);  // no shape has two tiles per SM by itself
      const int waves = (p.blocks() + slots - 1) / slots;
      EXPECT_GE(p.blocks(), (waves - 1) * slots + slots / 2);
      if (wgmma) {
        EXPECT_LE(p.blocks(), slots * 7 / 8);
      }
    }
}

// With the device's count of clusters (an H100's, cudaOccupancyMaxActiveClusters of the three-blocks-an-SM
// kernel), each of Llama-2-7B's projections at 17-64 tokens runs its clusters in one wave: qkv's 96
// tiles split 3 ways (124 clusters fit), not 4 (92 fit: two waves, as an H200 measured).
TEST(Int4TiledPlan, SevenBLayerRunsItsClustersInOneWave) {
  Int4WgmmaClusters clusters;
  const int h100[kInt4WgmmaMaxSplits + 1] = {0, 396, 198, 124, 92, 69, 62, 47, 45};
  for (auto& tile : clusters.most) std::copy(std::begin(h100), std::end(h100), tile);
  for (int tokens : {17, 32, 64})
    for (const auto& [n, k] : {std::pair<int64_t, int64_t>{12288, 4096}, {4096, 4096}, {22016, 4096}, {4096, 11008}}) {
      const Int4TiledPlan p = plan_int4_tiled_gemm(Int4Layout{n, k, 128}, tokens, 132, 0, true, &clusters);
      SCOPED_TRACE(testing::Message() << "n=" << n << " k=" << k << " tokens=" << tokens << " splits=" << p.splits);
      EXPECT_TRUE(p.wgmma);
      EXPECT_GT(p.splits, 1);
      EXPECT_LE(p.tiles(), clusters.at(p.token_tile, p.splits));
      if (n == 12288) {
        EXPECT_EQ(p.splits, 3);
      }
    }
}

TEST(Int4TiledPlan, SplitsNoFurtherThanTheCountersAllow) {
  const Int4Layout layout{300, 4096, 128};  // 3 row blocks
  EXPECT_GT(plan_int4_tiled_gemm(layout, 16, 132, 264, false).splits, 1);
  EXPECT_EQ(plan_int4_tiled_gemm(layout, 16, 132, 2, false).splits, 1);  // 3 tiles, 2 counters
  EXPECT_EQ(plan_int4_tiled_gemm(layout, 16, 132, 0, false).splits, 1);
  EXPECT_GT(plan_int4_tiled_gemm(layout, 16, 132, 0, true).splits, 1);  // wgmma's clusters need none
}

TEST(Int4TiledPlan, SplitsPartitionTheChunks) {
  for (int chunks : {1, 4, 7, 64, 172})
    for (int splits = 1; splits <= 16; ++splits) {
      EXPECT_EQ(int4_split_begin(chunks, splits, 0), 0);
      EXPECT_EQ(int4_split_begin(chunks, splits, splits), chunks);
      for (int s = 0; s < splits; ++s) {
        const int size = int4_split_begin(chunks, splits, s + 1) - int4_split_begin(chunks, splits, s);
        // Even parts: sizes differ by at most one.
        EXPECT_GE(size, chunks / splits);
        EXPECT_LE(size, chunks / splits + 1);
      }
    }
}

TEST(Int4TiledStaging, EveryUnitHasItsOwnPlace) {
  for (int rows : {16, 32, 64}) {
    std::set<int> places;
    for (int r = 0; r < rows; ++r)
      for (int u = 0; u < 8; ++u) {
        const int at = int4_staged_unit(r, u);
        EXPECT_GE(at, r * 8);  // within its own 128-byte row
        EXPECT_LT(at, r * 8 + 8);
        places.insert(at);
      }
    EXPECT_EQ(int(places.size()), rows * 8);
  }
}

// The kernel's activation copies: a thread copies one unit of rows r, r + threads / 8, ... and puts
// them `threads` units apart (its configurations have 128 and 256 threads).
TEST(Int4TiledStaging, AThreadsUnitsLieAWholeBlockApart) {
  for (int threads : {128, 256})
    for (int r = 0; r + threads / 8 < 64; ++r)
      for (int u = 0; u < 8; ++u)
        EXPECT_EQ(int4_staged_unit(r + threads / 8, u), int4_staged_unit(r, u) + threads)
            << "threads=" << threads << " r=" << r << " u=" << u;
}

// A warp's 16-byte shared-memory loads go in four phases of 8 lanes; a phase is conflict-free when its
// 8 addresses fall in 8 different 16-byte bank groups (address / 16 mod 8). Lane (g, t) of the B
// fragment read of token tile j and half chunk h loads unit 4h + t of row 8j + g.
TEST(Int4TiledStaging, FragmentReadsAreFreeOfBankConflicts) {
  for (int j = 0; j < 8; ++j)
    for (int h = 0; h < 2; ++h)
      for (int phase = 0; phase < 4; ++phase) {
        std::set<int> groups;
        for (int lane = 8 * phase; lane < 8 * phase + 8; ++lane) {
          const int g = lane / 4, t = lane % 4;
          groups.insert(int4_staged_unit(8 * j + g, 4 * h + t) % 8);
        }
        EXPECT_EQ(groups.size(), 8u) << "j=" << j << " h=" << h << " phase=" << phase;
      }
}

}  // namespace
}  // namespace turbine::cuda
#endif  // TURBINE_WITH_CUDA
