// Launcher of int4_tiled_gemm.cu: int4_gemm.h's W4A16 product (the same packed layout, the same
// fragment arithmetic) for more tokens than one mma token tile, laid out so that nothing is read more
// often than it must be. A block owns 128 output rows (its warps split N) and a tile of 16, 32 or 64
// tokens, whose activations it stages once in shared memory for all its warps (int4_gemm.cu reads
// them again for every 16-row strip, which bounds it at 32-64 tokens). On Hopper every tile runs on
// wgmma (int4_wgmma_gemm.cu) under the same plan. Where output tiles alone would not fill the
// GPU, K is split over blocks. On mma.sync each writes fp32 partial sums and the last block of a tile
// to finish adds them; on wgmma a tile's splits are one thread-block cluster, which adds them in
// shared memory. Both add in split order, so repeated launches give the same bits.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "backend/cuda/gemm/int4_gemm.h"

namespace turbine::cuda {

// Output rows per block, and resident blocks per SM of each configuration (what the plan's waves
// count): on wgmma three blocks of one warpgroup (kInt4WgmmaBlocksPerSm); elsewhere two blocks of 8
// warps for 16- and 32-token tiles, three blocks of 4 warps for 64-token tiles.
constexpr int kInt4TiledRows = 128;
constexpr int kInt4WgmmaBlocksPerSm = 3;
constexpr int kInt4WgmmaMaxSplits = 8;  // the portable cluster size: a wgmma tile's splits are one cluster
constexpr int kInt4TiledMostBlocksPerSm = 3;

// The most thread-block clusters of 1..kInt4WgmmaMaxSplits blocks that the device keeps resident at
// once, per wgmma token tile (cudaOccupancyMaxActiveClusters, counted by init_int4_wgmma_gemm). A
// cluster's blocks share one GPC, so clusters pack worse than blocks: at three blocks an SM, an H100
// holds 396 blocks but 92 clusters of 4 (368), so 96 tiles split 4 ways run as two waves.
struct Int4WgmmaClusters {
  int most[3][kInt4WgmmaMaxSplits + 1] = {};  // [16-, 32-, 64-token tile][cluster size]; 0: not counted

  int at(int token_tile, int size) const { return most[token_tile == 16 ? 0 : token_tile == 32 ? 1 : 2][size]; }
};

// How a launch covers the product: blocks = row_blocks x token_tiles x splits.
struct Int4TiledPlan {
  int token_tile = 0;     // tokens per block: 16, 32 or 64
  bool wgmma = false;     // on int4_wgmma_gemm.cu
  int blocks_per_sm = 0;  // the configuration's resident blocks per SM
  int row_blocks = 0, token_tiles = 0, splits = 0;
  size_t workspace_bytes = 0;  // fp32 partial sums; 0 with one split or wgmma
  int counters = 0;            // zeroed counters the launch needs (one per output tile with splits), else 0

  __host__ __device__ int tiles() const { return row_blocks * token_tiles; }
  __host__ __device__ int blocks() const { return tiles() * splits; }
};

// A plan for `tokens` tokens on a GPU of `sms` multiprocessors: K is split only while the output
// tiles number fewer than the resident blocks (blocks_per_sm per SM), into parts of at
// least four 64-column chunks; on mma.sync only where `max_counters` counters cover the tiles, on
// wgmma into at most kInt4WgmmaMaxSplits parts; of those, the split count with the least modelled
// time (whole waves of resident blocks, plus the partial sums' traffic). `wgmma`: the device runs
// int4_wgmma_gemm.cu (compute capability 9.0), which then takes every tile of group sizes that are
// powers of two of at least 64. With `clusters` (the device's count), a wgmma launch's waves are its
// tiles over the clusters of its split count that fit at once; without, its blocks over the resident
// blocks (7/8 of them at 64-token tiles, where clusters pack worst).
Int4TiledPlan plan_int4_tiled_gemm(const Int4Layout& layout, int tokens, int sms, int max_counters, bool wgmma,
                                   const Int4WgmmaClusters* clusters = nullptr);

// The first chunk of split s when `chunks` chunks go to `splits` parts (s = splits gives the end).
__host__ __device__ inline int int4_split_begin(int chunks, int splits, int s) {
  return int((long long)chunks * s / splits);
}

// Where a block stages unit u (8 values, 16 bytes; u = 0..7 along a 64-column chunk) of its token row
// r, in units from the start of the stage. Rows are 128 bytes; odd rows swap their two 64-byte halves,
// so the 8 lanes of one phase of a B-fragment read (tokens 2i and 2i + 1, units 4h .. 4h + 3) hit 8
// different 16-byte bank groups.
__host__ __device__ constexpr int int4_staged_unit(int r, int u) { return r * 8 + (u ^ ((r & 1) << 2)); }

// Returns false (nothing launched) for what launch_int4_gemm refuses too, for a plan that does not
// fit the arguments, and for a wgmma plan on a device that cannot run it. `workspace` must hold
// plan.workspace_bytes and `counters` plan.counters zeros (the kernel leaves them zero).
bool launch_int4_tiled_gemm(const Int4GemmArgs& args, const Int4TiledPlan& plan, float* workspace,
                            unsigned* counters, const KernelLaunch& launch);

}  // namespace turbine::cuda
