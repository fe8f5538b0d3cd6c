// The B order of a 4-bit linear's activations: each 64-column chunk of a token's row as the wgmma
// GEMM's B operand reads it (int4_wgmma_gemm.cu), so that its 64-token tiles copy a chunk's row with
// four 16-byte cp.async instead of loading it into registers and transposing it with stmatrix.
//
// Int4_gemm.h's packed k order gives lane t of half h (columns 32h .. 32h + 31 of the chunk) the x
// columns 32h + 8t .. 32h + 8t + 7, whose pair p (columns 32h + 8t + 2p, + 1) is its k slots (2t, 2t + 1)
// (p even) or (2t + 8, 2t + 9) (p odd) of subtile 2h + p / 2. In the B row, subtile s takes words
// 8s .. 8s + 7 in k order, so that pair is word 16h + 4p + t: within each half, the 4 x 4 transpose of
// the natural order's 4-byte words (word 16h + 4t + p). The order is its own inverse.
#pragma once
#include <cuda_runtime.h>  // __host__ __device__

namespace turbine::cuda {

// Where the 4-byte word `word` (a pair of 16-bit values) of a row in natural order lies in B order.
// Rows must be whole chunks (a multiple of 64 columns).
__host__ __device__ constexpr int int4_b_order_word(int word) {
  const int in_half = word & 15;
  return (word & ~15) | ((in_half & 3) << 2) | (in_half >> 2);
}

}  // namespace turbine::cuda
