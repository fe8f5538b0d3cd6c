// The device side of int4_tiled_gemm.h's plan that its kernels (int4_tiled_gemm.cu, int4_wgmma_gemm.cu)
// share: which output tile, split and chunks a block takes, and split K's hand-over to the last block.
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

}  // namespace turbine::cuda
