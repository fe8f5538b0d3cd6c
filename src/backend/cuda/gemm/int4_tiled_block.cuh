// The device side of int4_tiled_gemm.h's plan for the mma.sync kernel (int4_tiled_gemm.cu): which
// output tile, split and chunks a block takes, split K's hand-over to the last block, and the partial
// sums' layout. (int4_wgmma_gemm.cu adds a tile's splits inside a thread-block cluster instead.)
#pragma once
#include "backend/cuda/gemm/int4_tiled_gemm.h"

namespace turbine::cuda {

// What a block of a plan's launch computes: token tile fastest (the blocks that read the same weights
// run side by side, L2 reuse above 64 tokens), then the split, then the row block; the chunks
// [first_chunk, first_chunk + chunks) of the K split.
struct Int4TiledBlock {
  int token_tile, split, row_block, tile, first_chunk, chunks;
};
__device__ __forceinline__ Int4TiledBlock int4_tiled_block(const Int4TiledPlan& plan, int k_chunks) {
  Int4TiledBlock b;
  b.token_tile = int(blockIdx.x) % plan.token_tiles;
  b.split = int(blockIdx.x) / plan.token_tiles % plan.splits;
  b.row_block = int(blockIdx.x) / plan.token_tiles / plan.splits;
  b.tile = b.row_block * plan.token_tiles + b.token_tile;
  b.first_chunk = int4_split_begin(k_chunks, plan.splits, b.split);
  b.chunks = int4_split_begin(k_chunks, plan.splits, b.split + 1) - b.first_chunk;
  return b;
}

// Split K's hand-over, called by every thread of a block once it has stored its partial sums: true
// in the tile's last block to arrive (it then adds every split's partials, in split order), whose
// arrival also sets the tile's counter back to zero for the next launch.
__device__ __forceinline__ bool int4_tiled_last_split(unsigned* counter, int splits) {
  __shared__ bool last;
  __threadfence();  // this block's partials are visible before its arrival is
  __syncthreads();
  if (threadIdx.x == 0) {
    last = atomicAdd(counter, 1u) == unsigned(splits - 1);
    if (last) *counter = 0;
  }
  __syncthreads();
  if (!last) return false;
  __threadfence();  // and the other blocks' partials before this one reads them
  return true;
}

// Split K's partial sums: a block's Acc fp32 accumulators a thread (Acc % 4 == 0), stored as Acc / 4
// float4 vectors, vector v of thread i at float4 v x Threads + i of the block's part (so each vector's
// stores and loads coalesce across the threads). Part (split s, tile t) starts at float
// (s x tiles + t) x Acc x Threads.
template <int Acc, int Threads>
__device__ __forceinline__ float4* int4_tiled_part(float* partials, int split, int tile, int tiles) {
  static_assert(Acc % 4 == 0);
  return reinterpret_cast<float4*>(partials + (size_t(split) * tiles + tile) * Acc * Threads) + threadIdx.x;
}
template <int Acc, int Threads>
__device__ __forceinline__ void int4_tiled_store_partials(float* partials, int split, int tile, int tiles,
                                                          const float (&acc)[Acc]) {
  float4* part = int4_tiled_part<Acc, Threads>(partials, split, tile, tiles);
#pragma unroll
  for (int v = 0; v < Acc / 4; ++v)
    __stcg(part + v * Threads, make_float4(acc[4 * v], acc[4 * v + 1], acc[4 * v + 2], acc[4 * v + 3]));
}
// The last block's sum of every split's part, in split order (0 + part 0 + part 1 + ...: the same bits
// whatever the grid). The loads of two parts (one where Acc is 64) go out before their adds: the sum
// is the tail of a split launch, when most SMs are idle, so its L2 round trips are what it costs.
template <int Acc, int Threads>
__device__ __forceinline__ void int4_tiled_sum_partials(float* partials, int splits, int tile, int tiles,
                                                        float (&acc)[Acc]) {
  constexpr int V = Acc / 4, Batch = Acc >= 64 ? 1 : 2;
#pragma unroll
  for (int e = 0; e < Acc; ++e) acc[e] = 0.0f;
  for (int s0 = 0; s0 < splits; s0 += Batch) {
    float4 got[Batch][V];
#pragma unroll
    for (int b = 0; b < Batch; ++b)
      if (s0 + b < splits) {
        const float4* part = int4_tiled_part<Acc, Threads>(partials, s0 + b, tile, tiles);
#pragma unroll
        for (int v = 0; v < V; ++v) got[b][v] = __ldcg(part + v * Threads);
      }
#pragma unroll
    for (int b = 0; b < Batch; ++b)
      if (s0 + b < splits)
#pragma unroll
        for (int v = 0; v < V; ++v) {
          acc[4 * v] += got[b][v].x, acc[4 * v + 1] += got[b][v].y;
          acc[4 * v + 2] += got[b][v].z, acc[4 * v + 3] += got[b][v].w;
        }
  }
}

}  // namespace turbine::cuda
