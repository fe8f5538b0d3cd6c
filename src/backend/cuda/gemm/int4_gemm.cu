// out[T, N] = x[T, K] @ w[N, K]^T with 4-bit group-quantized weights (W4A16), on mma.sync m16n8k16
// tensor cores for every token count. The weights are the A operand (16 rows per mma) and the
// tokens the B operand (8 per mma), so one kernel serves decode (at 1 token 7 of 8 B columns are
// zero: tensor-core cycles the kernel has to spare) and larger batches alike. What limits it on the
// H200 (rounds of loads with nothing in flight, dequantization instructions, activations re-read per
// strip): docs/experiments.md, 2026-12-04.
//
// A block owns MT strips of 16 output rows and NT * 8 tokens; its warps split K between them, chunk
// by chunk (64 columns), and meet in one shared-memory sum in a fixed order (repeated launches give
// the same bits). Each lane streams its 16 bytes of a chunk per strip past L1, Unroll chunks in
// flight, and dequantizes them in registers into A fragments (int4_gemm.h has the layout and the
// magic-number trick): per pair of weights one and/or, one subtraction of 1024 + zero and one
// multiplication by the scale, in the compute dtype. The activations come through L1 (every block
// reads them) as one 16-byte load per lane, token and half chunk, already in B fragment order.
// Token counts above the largest tile run several token tiles side by side (grid y), each reading
// the weights again, mostly from L2.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/int4_fragment.cuh"
#include "backend/cuda/gemm/int4_gemm.h"

namespace turbine::cuda {
namespace {

// The tile shapes, by token count (launch_typed picks one): NT token tiles of 8, MT row strips of
// 16 per warp, Warps splitting K, Unroll chunks in flight per lane.
template <int NT_, int MT_, int Warps_, int Unroll_>
struct Tile {
  static constexpr int NT = NT_, MT = MT_, Warps = Warps_, Unroll = Unroll_;
};

template <typename T, typename Cfg>
__global__ void __launch_bounds__(Cfg::Warps * 32) int4_gemm_kernel(Int4GemmArgs a) {
  constexpr int NT = Cfg::NT, MT = Cfg::MT, Warps = Cfg::Warps, Unroll = Cfg::Unroll;
  constexpr int kSlots = MT * NT * 4;  // accumulators per lane
  __shared__ float partial[Warps][kSlots][32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int n = int(a.layout.n), k = int(a.layout.k), group = a.layout.group_size, tokens = a.tokens;
  const int np = (n + 15) / 16 * 16, strips = np / 16, chunks = (k + 63) / 64;  // Int4Layout's padding
  const int tok0 = blockIdx.y * NT * 8;
  int strip[MT];
  const uint4* wp[MT];
#pragma unroll
  for (int m = 0; m < MT; ++m) {
    strip[m] = min(int(blockIdx.x) * MT + m, strips - 1);  // a repeated last strip is computed, not stored
    wp[m] = reinterpret_cast<const uint4*>(a.w) + size_t(strip[m]) * chunks * 32 + lane;
  }
  float acc[MT][NT][4];
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][j][e] = 0.0f;

  // A lane's words of each chunk in flight and, fetched with them, the scale words of its rows g and
  // g + 8 for each half chunk (a half lies in one group): DRAM latency once per round, not twice.
  uint4 wraw[Unroll][MT];
  uint32_t sraw[Unroll][MT][2][2];
  auto fetch = [&](int c0) {
#pragma unroll
    for (int u = 0; u < Unroll; ++u) {
      const int c = c0 + u * Warps;
#pragma unroll
      for (int m = 0; m < MT; ++m) {
        wraw[u][m] = c < chunks ? load_stream(wp[m] + size_t(c) * 32) : make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const uint32_t* sw = a.scales + size_t((min(c, chunks - 1) * 64 + 32 * h) / group) * np + strip[m] * 16 + g;
          sraw[u][m][h][0] = __ldg(sw);
          sraw[u][m][h][1] = __ldg(sw + 8);
        }
      }
    }
  };
  // Nothing writes the weights: their first loads go out before waiting for the previous kernel.
  fetch(warp);
  pdl_launch_dependents();
  pdl_wait();
  const T* x = static_cast<const T*>(a.x);
  for (int c0 = warp; c0 < chunks; c0 += Warps * Unroll) {
    if (c0 != warp) fetch(c0);
#pragma unroll
    for (int u = 0; u < Unroll; ++u) {
      const int c = c0 + u * Warps;
      if (c >= chunks) break;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int col = c * 64 + 32 * h;
        if (col >= k) break;  // padded columns: zero weights and no activations
        uint4 b[NT];
        load_token_fragments<T, NT>(x, k, tokens, tok0, col, g, t, b);
#pragma unroll
        for (int m = 0; m < MT; ++m) int4_half_chunk_mma<T, NT>(acc[m], wraw[u][m], h, sraw[u][m][h][0], sraw[u][m][h][1], b);
      }
    }
  }

#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) partial[warp][(m * NT + j) * 4 + e][lane] = acc[m][j][e];
  __syncthreads();
  for (int i = threadIdx.x; i < kSlots * 32; i += Warps * 32) {
    const int slot = i / 32, l = i % 32, e = slot % 4, j = (slot / 4) % NT, m = slot / (4 * NT);
    // The accumulator layout of m16n8k16: e 0, 1 are row l / 4, e 2, 3 row l / 4 + 8; tokens 2 (l % 4) + e % 2.
    const int row = (int(blockIdx.x) * MT + m) * 16 + l / 4 + (e / 2) * 8;
    const int tok = tok0 + j * 8 + 2 * (l % 4) + e % 2;
    if (row >= n || tok >= tokens) continue;
    float v = 0.0f;
#pragma unroll
    for (int w = 0; w < Warps; ++w) v += partial[w][slot][l];
    int4_store_output<T>(a, row, tok, v);
  }
}

template <typename T, typename Cfg>
void launch_tile(const Int4GemmArgs& a, const KernelLaunch& launch) {
  const int strips = int(a.layout.n_padded() / 16), tokens_per_block = Cfg::NT * 8;
  const dim3 grid(unsigned((strips + Cfg::MT - 1) / Cfg::MT), unsigned((a.tokens + tokens_per_block - 1) / tokens_per_block));
  launch_pdl(int4_gemm_kernel<T, Cfg>, grid, Cfg::Warps * 32, 0, launch, a);
}

// The instances: decode of up to 8 sequences, up to 16, up to 32, and 64-token tiles for the rest.
template <typename T>
void launch_typed(const Int4GemmArgs& a, const KernelLaunch& launch) {
  if (a.tokens <= 8)
    launch_tile<T, Tile<1, 1, 8, 4>>(a, launch);
  else if (a.tokens <= 16)
    launch_tile<T, Tile<2, 1, 8, 4>>(a, launch);
  else if (a.tokens <= 32)
    launch_tile<T, Tile<4, 2, 8, 2>>(a, launch);
  else
    launch_tile<T, Tile<8, 2, 4, 2>>(a, launch);
}

}  // namespace

bool launch_int4_gemm(const Int4GemmArgs& a, const KernelLaunch& launch) {
  const Int4Layout& l = a.layout;
  if (a.tokens < 1 || l.n < 1 || l.k < 1 || l.k % 32 != 0 || l.group_size % 32 != 0 || a.x_b_order) return false;
  if (!aligned16({a.x, a.w}) || reinterpret_cast<uintptr_t>(a.out) % 4 != 0) return false;
  if (a.out_dtype != a.dtype && a.out_dtype != DType::F32) return false;
  if (a.dtype != DType::F16 && a.dtype != DType::BF16) return false;
  TURBINE_DISPATCH_HALF(a.dtype, launch_typed<T>(a, launch));
  TURBINE_CUDA_LAUNCH_CHECK();
  return true;
}

}  // namespace turbine::cuda
