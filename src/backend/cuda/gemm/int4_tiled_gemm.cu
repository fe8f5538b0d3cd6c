// out[T, N] = x[T, K] @ w[N, K]^T with 4-bit weights for 9 or more tokens (int4_tiled_gemm.h says
// why this layout). The weights are int4_gemm.h's packed strips and go through the same registers
// and instructions (int4_fragment.cuh): a lane's 16 bytes of a 64-column chunk per strip, streamed
// past L1, dequantized into mma.sync m16n8k16 A fragments; the tokens are the B side.
//
// A block: Warps warps, each owning MT strips of 16 rows (128 rows in all), one token tile of NT x 8
// tokens, and the chunks of its K split. Chunk by chunk, the whole block copies the tile's activations
// of a chunk into a ring of shared-memory stages (cp.async, TiledConfig::Stages deep, rows past the
// last token or columns past K zero-filled), and each lane copies its own 16 bytes of the chunk per strip and their
// scale words into the same stage, in the same commit group (a ring of weight loads held in registers
// would share the warp's few scoreboards, so each wait would also cover loads issued later: the 4-bit
// GEMV measured that). One barrier per chunk: after it, the stage of the chunk before is free (every
// warp has finished it) and this chunk's stage has landed (every thread waited for its own copies
// before the barrier).
//
// With one split the accumulators go straight to the output (bias in the epilogue, as int4_gemm.cu
// rounds it). With several, each block stores its accumulators as fp32 partials, and the last block of
// the output tile (a counter per tile) adds all splits' partials in split order and writes the tile.
// The first stages' weights and scales are fetched before the PDL wait; activations, partials,
// counters and the output only after it.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "backend/cuda/common/cp_async.cuh"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/int4_fragment.cuh"
#include "backend/cuda/gemm/int4_tiled_block.cuh"
#include "backend/cuda/gemm/int4_tiled_gemm.h"
#include "backend/cuda/gemm/int4_wgmma_gemm.h"

namespace turbine::cuda {
namespace {

constexpr int kMinSplitChunks = 4;  // the fewest chunks a K split gets
constexpr int kMaxSplits = 16;

// NT token tiles of 8, MT strips per warp, Warps warps (Warps x MT x 16 = 128 rows), MinBlocks
// resident blocks per SM asked of the register allocator (their shared memory fits too; the plan
// counts on as many) and Stages chunks in shared memory (activations, weights and scale words).
template <int NT_, int MT_, int Warps_, int MinBlocks_, int Stages_>
struct TiledConfig {
  static constexpr int NT = NT_, MT = MT_, Warps = Warps_, MinBlocks = MinBlocks_, Stages = Stages_;
  static constexpr int kThreads = Warps * 32;
  static constexpr int kAcc = MT * NT * 4;  // accumulators per thread
  static constexpr int kStageUnits = NT * 8 * 8;
  static constexpr int kRows = Warps * MT * 16;
  static_assert(kRows == kInt4TiledRows);
  static_assert(kAcc * kThreads == kRows * NT * 8);
  // One stage: the activations, then each thread's words [strip][thread] and scale words
  // [strip][half][row g, g + 8][thread] (two halves: the most a chunk needs).
  static constexpr size_t kStageBytes = size_t(kStageUnits) * 16 + size_t(MT) * kThreads * (16 + 2 * 2 * 4);
  static constexpr size_t kSmemBytes = Stages * kStageBytes;
  static_assert((kSmemBytes + 1024) * MinBlocks <= 228 * 1024, "the blocks of an SM fit its shared memory");
  static_assert(MinBlocks <= kInt4TiledMostBlocksPerSm);
};
// 16 and 32 tokens: bandwidth-bound, so many loads in flight (two blocks of 8 warps per SM). 64 tokens:
// the mma and dequantization work per weight is 8x that of one tile, so two strips per warp share
// each B fragment read from shared memory; a chunk is long work, so four stages hide the copies, and
// three blocks of 4 warps per SM keep more warps issuing (where the wgmma kernel does not take them).
using Tiled16 = TiledConfig<2, 1, 8, 2, 6>;
using Tiled32 = TiledConfig<4, 1, 8, 2, 6>;
using Tiled64 = TiledConfig<8, 2, 4, 3, 4>;
static_assert(Tiled16::MinBlocks == Tiled32::MinBlocks && Tiled64::MinBlocks == kInt4TiledMostBlocksPerSm);

// OneGroup: the group size is a power of two of at least 64, passed as group_shift = log2(group / 64),
// so a chunk's group is c >> group_shift. Otherwise each half chunk finds its own.
template <typename T, typename Cfg, bool OneGroup>
__global__ void __launch_bounds__(Cfg::kThreads, Cfg::MinBlocks)
    int4_tiled_gemm_kernel(Int4GemmArgs a, Int4TiledPlan plan, float* partials, unsigned* counters, int group_shift) {
  constexpr int NT = Cfg::NT, MT = Cfg::MT, Warps = Cfg::Warps, Stages = Cfg::Stages;
  constexpr int kScaleHalves = OneGroup ? 1 : 2;
  constexpr int kThreads = Cfg::kThreads, kAcc = Cfg::kAcc, kStageUnits = Cfg::kStageUnits;
  extern __shared__ uint4 smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int n = int(a.layout.n), k = int(a.layout.k), tokens = a.tokens;
  const int np = (n + 15) / 16 * 16, strips = np / 16, chunks = (k + 63) / 64;  // Int4Layout's padding
  const Int4TiledBlock blk = int4_tiled_block(plan, chunks);
  const int split = blk.split, rb = blk.row_block, tile = blk.tile, c_begin = blk.first_chunk, nch = blk.chunks;
  const int tok0 = blk.token_tile * NT * 8;
  const int strip0 = rb * (Warps * MT) + warp * MT;  // this warp's first strip (unclamped)

  const int halves_per_group = a.layout.group_size / 32;  // a half chunk (32 columns) lies in one group
  const uint4* wp[MT];
  const uint32_t* sp[MT];
#pragma unroll
  for (int m = 0; m < MT; ++m) {
    const int strip = min(strip0 + m, strips - 1);  // a strip past the end is computed, not stored
    wp[m] = reinterpret_cast<const uint4*>(a.w) + size_t(strip) * chunks * 32 + lane;
    sp[m] = a.scales + strip * 16 + g;  // row g of the strip; row g + 8 is 8 words on
  }

  // Stage s: the activations (kStageUnits units), this thread's words of each strip and the scale
  // words of its rows g and g + 8 for each half chunk (index 0 only when one group covers the chunk).
  auto stage_x = [&](int s) { return smem + size_t(s) * (Cfg::kStageBytes / 16); };
  auto stage_w = [&](int s, int m) { return stage_x(s) + kStageUnits + m * kThreads + threadIdx.x; };
  auto stage_s = [&](int s, int m, int h, int r) {
    return reinterpret_cast<uint32_t*>(stage_x(s) + kStageUnits + MT * kThreads) + ((m * 2 + h) * 2 + r) * kThreads +
           threadIdx.x;
  };
  // The block's chunk i of weights and scale words into stage i % Stages (this thread's share).
  auto stage_weights = [&](int i) {
    if (i >= nch) return;
    const int c = c_begin + i, s = i % Stages;
#pragma unroll
    for (int m = 0; m < MT; ++m) {
      cp_async16(stage_w(s, m), wp[m] + size_t(c) * 32, true);
#pragma unroll
      for (int h = 0; h < kScaleHalves; ++h) {
        const int group = OneGroup ? c >> group_shift : (2 * c + h) / halves_per_group;
        const uint32_t* sw = sp[m] + size_t(group) * np;
        cp_async4(stage_s(s, m, h, 0), sw, true);
        cp_async4(stage_s(s, m, h, 1), sw + 8, true);
      }
    }
  };
  // The activations' copies: thread i copies unit u = i % 8 of token rows i / 8, i / 8 + kRowStep, ...
  // The row step is even, so those rows' units lie kThreads units apart in the stage
  // (int4_staged_unit swaps halves by row parity) and a copy's only per-chunk arithmetic is the column.
  constexpr int kRowStep = kThreads / 8, kCopies = (kStageUnits + kThreads - 1) / kThreads;
  static_assert(kRowStep % 2 == 0, "a thread's rows have one parity");
  const int u_own = threadIdx.x & 7, r_own = threadIdx.x >> 3;
  const T* x_own = static_cast<const T*>(a.x) + size_t(tok0 + r_own) * k + u_own * 8;
  const size_t x_step = size_t(kRowStep) * k;
  const int x_at = int4_staged_unit(r_own, u_own);
  unsigned rows_in = 0;  // bit q: row r_own + q kRowStep is a token
#pragma unroll
  for (int q = 0; q < kCopies; ++q) rows_in |= unsigned(tok0 + r_own + q * kRowStep < tokens) << q;
  // The block's chunk i of activations into stage i % Stages.
  auto stage_activations = [&](int i) {
    if (i >= nch) return;
    const int col = (c_begin + i) * 64;
    const bool col_in = col + u_own * 8 < k;  // K is a multiple of 32: a unit is all in or all out
    uint4* dst = stage_x(i % Stages) + x_at;
    const T* src = x_own + col;
#pragma unroll
    for (int q = 0; q < kCopies; ++q, src += x_step) {
      if (kStageUnits % kThreads != 0 && int(threadIdx.x) + q * kThreads >= kStageUnits) break;
      cp_async16(dst + q * kThreads, src, col_in && (rows_in >> q & 1));  // an invalid copy reads nothing
    }
  };
  // Nothing writes the weights: the first stages' go out before waiting for the previous kernel, one
  // commit group each; then the same stages' activations, one group each; then one group per chunk
  // with both. Either way chunk i's last group is number Stages - 1 + i.
#pragma unroll
  for (int s = 0; s < Stages - 1; ++s) stage_weights(s), cp_async_commit();
  pdl_launch_dependents();
  pdl_wait();  // x, the partials, the counters and out belong to the previous kernel until here
#pragma unroll
  for (int s = 0; s < Stages - 1; ++s) stage_activations(s), cp_async_commit();

  float acc[MT][NT][4];
  auto zero_acc = [&] {
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[m][j][e] = 0.0f;
  };
  zero_acc();

  for (int i = 0; i < nch; ++i) {
    // Groups committed so far: 2 (Stages - 1) + i; chunk i's (number Stages - 1 + i) is complete when
    // at most Stages - 2 remain.
    cp_async_wait<Stages - 2>();
    __syncthreads();
    // Into the stage of chunk i - 1, which every warp is done with.
    stage_weights(i + Stages - 1), stage_activations(i + Stages - 1), cp_async_commit();
    const int c = c_begin + i, s = i % Stages;
    const uint4* stage = stage_x(s);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      if (c * 64 + 32 * h >= k) break;  // padded columns: zero weights and zero activations
      // Every strip's A fragments of the half first (its two words and two scale words, read here so
      // that the next half's are not held), then one token tile's B fragment at a time: lane (g, t)
      // holds token j * 8 + g's columns 32h + 8t .. 32h + 8t + 7, the B fragments of subtiles 2h and
      // 2h + 1 in the packed k order (int4_gemm.h).
      uint32_t frag[MT][2][4];
#pragma unroll
      for (int m = 0; m < MT; ++m) {
        const uint2 words = reinterpret_cast<const uint2*>(stage_w(s, m))[h];
        const int sh = OneGroup ? 0 : h;
        int4_half_chunk_fragments<T>(words, *stage_s(s, m, sh, 0), *stage_s(s, m, sh, 1), frag[m]);
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const uint4 b = stage[int4_staged_unit(j * 8 + g, 4 * h + t)];
#pragma unroll
        for (int m = 0; m < MT; ++m) {
          mma_m16n8k16<T>(acc[m][j], frag[m][0], b.x, b.y);
          mma_m16n8k16<T>(acc[m][j], frag[m][1], b.z, b.w);
        }
      }
    }
  }
  cp_async_wait<0>();  // no copy outlives the block

  if (plan.splits > 1) {
    float(&flat)[kAcc] = reinterpret_cast<float(&)[kAcc]>(acc);  // [m][j][e], row-major
    int4_tiled_store_partials<kAcc, kThreads>(partials, split, tile, plan.tiles(), flat);
    if (!int4_tiled_last_split(counters + tile, plan.splits)) return;
    int4_tiled_sum_partials<kAcc, kThreads>(partials, plan.splits, tile, plan.tiles(), flat);
  }

#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        // The accumulator layout of m16n8k16: e 0, 1 are row g, e 2, 3 row g + 8; tokens 2t + e % 2.
        const int row = (strip0 + m) * 16 + g + (e >> 1) * 8;
        const int tok = tok0 + j * 8 + 2 * t + (e & 1);
        if (row < n && tok < tokens) int4_store_output<T>(a, row, tok, acc[m][j][e]);
      }
}

template <typename Cfg, typename Kernel>
void launch_with_smem(Kernel kernel, dim3 grid, const KernelLaunch& launch, const Int4GemmArgs& a,
                      const Int4TiledPlan& plan, float* workspace, unsigned* counters, int group_shift) {
  TURBINE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Cfg::kSmemBytes)));
  launch_pdl(kernel, grid, Cfg::kThreads, Cfg::kSmemBytes, launch, a, plan, workspace, counters, group_shift);
}

template <typename T, typename Cfg>
void launch_config(const Int4GemmArgs& a, const Int4TiledPlan& plan, float* workspace, unsigned* counters,
                   const KernelLaunch& launch) {
  const int group = a.layout.group_size;
  const dim3 grid(unsigned(plan.blocks()));
  if (group >= 64 && (group & (group - 1)) == 0) {
    int shift = 0;
    while ((64 << shift) < group) ++shift;
    launch_with_smem<Cfg>(int4_tiled_gemm_kernel<T, Cfg, true>, grid, launch, a, plan, workspace, counters, shift);
  } else {
    launch_with_smem<Cfg>(int4_tiled_gemm_kernel<T, Cfg, false>, grid, launch, a, plan, workspace, counters, 0);
  }
}

template <typename T>
void launch_typed(const Int4GemmArgs& a, const Int4TiledPlan& plan, float* workspace, unsigned* counters,
                  const KernelLaunch& launch) {
  if (plan.token_tile == 16)
    launch_config<T, Tiled16>(a, plan, workspace, counters, launch);
  else if (plan.token_tile == 32)
    launch_config<T, Tiled32>(a, plan, workspace, counters, launch);
  else
    launch_config<T, Tiled64>(a, plan, workspace, counters, launch);
}

// The time a launch of output tiles split `splits` ways takes in `waves` waves, in units of one block's
// time for one chunk (128 rows x 64 columns): each wave its blocks' share of the chunks plus, with
// splits, writing their fp32 partials (128 x token_tile floats, through L2; about token_tile / 20
// chunks' time), and the last block of a tile reading every split's partials (about token_tile / 64
// chunks each). On wgmma the same terms stand for the cluster's sum in shared memory: with them an H200
// sweep of forced split counts found the chosen count best, or within 2.3 us of the best, for each 7B
// projection at 32 and 64 tokens.
double int4_tiled_cost(int waves, int splits, int chunks, int token_tile) {
  const double own = (chunks + splits - 1) / splits + (splits > 1 ? token_tile / 20.0 : 0.0);
  return waves * own + (splits > 1 ? splits * token_tile / 64.0 : 0.0);
}

}  // namespace

Int4TiledPlan plan_int4_tiled_gemm(const Int4Layout& layout, int tokens, int sms, int max_counters, bool wgmma,
                                   const Int4WgmmaClusters* clusters) {
  Int4TiledPlan plan;
  if (tokens < 1 || layout.n < 1 || layout.k < 1 || sms < 1) return plan;
  plan.token_tile = tokens <= 16 ? 16 : tokens <= 32 ? 32 : 64;
  plan.token_tiles = (tokens + plan.token_tile - 1) / plan.token_tile;
  const int group = layout.group_size;
  plan.wgmma = wgmma && group >= 64 && (group & (group - 1)) == 0;
  plan.blocks_per_sm = plan.wgmma              ? kInt4WgmmaBlocksPerSm
                       : plan.token_tile == 64 ? Tiled64::MinBlocks
                                               : Tiled16::MinBlocks;
  plan.row_blocks = int((layout.n_padded() + kInt4TiledRows - 1) / kInt4TiledRows);
  plan.splits = 1;
  // A configuration keeps blocks_per_sm blocks per SM resident (TiledConfig::MinBlocks).
  // Splitting K pays only while the tiles leave slots idle; the split count with the least modelled
  // time wins, so a launch never spills a small last wave (96 tiles split 3 ways on 132 SMs with two
  // slots each would run 288 blocks in two waves of 264: 2 ways fill one wave and take less time).
  // On wgmma a tile's splits are one cluster, and clusters pack worse than blocks: the device's count
  // of them says how many fit at once (Int4WgmmaClusters). Without it, 64-token tiles count 7/8 of
  // their resident blocks as slots: on an H200, 96 tiles split 4 ways (384 blocks, 0.97 of the 396
  // slots) took as long as two waves (35.8 us against 27.6 split 3 ways), where 172 tiles split 2 ways
  // (344 blocks, 0.87) ran as one (docs/experiments.md); the H100's count says why (92 clusters of 4,
  // 198 of 2).
  const int resident = plan.blocks_per_sm * sms;
  const int chunks = int(layout.k_padded() / 64),
            slots = plan.wgmma && plan.token_tile == 64 ? std::max(1, resident * 7 / 8) : resident;
  auto waves = [&](int splits) {
    const int fit = plan.wgmma && clusters != nullptr ? clusters->at(plan.token_tile, splits) : 0;
    return fit > 0 ? (plan.tiles() + fit - 1) / fit : (plan.tiles() * splits + slots - 1) / slots;
  };
  if (plan.tiles() < slots && (plan.wgmma || plan.tiles() <= max_counters)) {
    const int most = std::max(1, std::min(chunks / kMinSplitChunks, plan.wgmma ? kInt4WgmmaMaxSplits : kMaxSplits));
    double best = int4_tiled_cost(waves(1), 1, chunks, plan.token_tile);
    for (int s = 2; s <= most; ++s) {
      const double cost = int4_tiled_cost(waves(s), s, chunks, plan.token_tile);
      if (cost < best) best = cost, plan.splits = s;
    }
  }
  if (plan.splits > 1 && !plan.wgmma) {  // wgmma adds a tile's splits inside its cluster
    plan.workspace_bytes = size_t(plan.blocks()) * kInt4TiledRows * plan.token_tile * sizeof(float);
    plan.counters = plan.tiles();
  }
  return plan;
}

bool launch_int4_tiled_gemm(const Int4GemmArgs& a, const Int4TiledPlan& plan, float* workspace, unsigned* counters,
                            const KernelLaunch& launch) {
  const Int4Layout& l = a.layout;
  if (a.tokens < 1 || l.n < 1 || l.k < 1 || l.k % 32 != 0 || l.group_size % 32 != 0) return false;
  if (!aligned16({a.x, a.w}) || reinterpret_cast<uintptr_t>(a.out) % 4 != 0) return false;
  if (a.out_dtype != a.dtype && a.out_dtype != DType::F32) return false;
  if (a.dtype != DType::F16 && a.dtype != DType::BF16) return false;
  // The plan must be this shape's, and a split launch needs its workspace and counters.
  const Int4TiledPlan want = plan_int4_tiled_gemm(l, a.tokens, 1, 0, plan.wgmma);
  if (plan.token_tile != want.token_tile || plan.token_tiles != want.token_tiles || plan.wgmma != want.wgmma ||
      plan.row_blocks != want.row_blocks || plan.splits < 1 || plan.splits > kMaxSplits)
    return false;
  if (!plan.wgmma && plan.splits > 1 && (workspace == nullptr || counters == nullptr)) return false;
  if (a.x_b_order && !plan.wgmma) return false;  // only the wgmma kernel reads B order
  if (plan.wgmma) {
    if (!launch_int4_wgmma_gemm(a, plan, launch)) return false;
  } else {
    TURBINE_DISPATCH_HALF(a.dtype, launch_typed<T>(a, plan, workspace, counters, launch));
  }
  TURBINE_CUDA_LAUNCH_CHECK();
  return true;
}

}  // namespace turbine::cuda
