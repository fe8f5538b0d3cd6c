// out[T, N] = x[T, K] @ w[N, K]^T with 4-bit weights for T of 1..8 (decode): a pass over the weights
// that keeps loads in flight all the time. At these token counts a kernel finishes in a few DRAM
// latencies, so what counts is how many bytes are in flight per SM, not the arithmetic.
//
// A block of kWarps warps owns one strip of 16 output rows; its warps split K chunk by chunk (64
// columns, warp w takes chunks w, w + kWarps, ...). Each lane holds a ring of chunks' 16-byte weight
// loads (streamed past L1) and their scale words in a ring of registers: as soon as it has
// dequantized a chunk it issues the load of the chunk a ring ahead into the same slot, so a warp
// always has a ring's worth of loads (less one) outstanding, where int4_gemm.cu waits for a whole round
// before it issues the next. A chunk's group is found by a shift (power-of-two group sizes), and
// when the group size is 64 or more a chunk lies in one group, so its scales are loaded once.
// The arithmetic is int4_gemm.cu's at one token tile (int4_fragment.cuh): dequantization into mma
// A fragments, the tokens as the mma's 8 B columns (those past T zero), fp32 accumulators. The
// activations come through L1 (every block reads them). The warps' sums meet in shared memory in a
// fixed order, so repeated launches give the same bits.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/int4_fragment.cuh"
#include "backend/cuda/gemm/int4_gemv.h"

namespace turbine::cuda {
namespace {

// 8 warps with a ring of 8 chunks each: 32 KB of weights in flight per block, and with at most 128
// registers (the launch bounds) two blocks per SM. Group sizes of 32 need two scale words per chunk
// and row: their ring is 6 chunks, which fits the registers without spilling.
constexpr int kWarps = 8;
template <bool OneGroupPerChunk>
constexpr int kRing = OneGroupPerChunk ? 8 : 6;  // chunks in flight per lane
static_assert(kInt4GemvMaxTokens <= 8, "one mma token tile");

template <typename T, bool OneGroupPerChunk>
__global__ void __launch_bounds__(kWarps * 32, 2) int4_gemv_kernel(Int4GemmArgs a, int group_shift) {
  constexpr int Ring = kRing<OneGroupPerChunk>;
  __shared__ float partial[kWarps][4][32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int n = int(a.layout.n), k = int(a.layout.k), tokens = a.tokens;
  const int np = (n + 15) / 16 * 16, chunks = (k + 63) / 64;  // Int4Layout's padding
  const int strip = int(blockIdx.x);
  const uint4* wp = reinterpret_cast<const uint4*>(a.w) + size_t(strip) * chunks * 32 + lane;
  const uint32_t* sp = a.scales + strip * 16 + g;  // row g of the strip; row g + 8 is 8 words on

  // Slot u of the ring: the lane's words of one chunk and the scale words of its rows g and g + 8
  // for each half chunk (index 0 only when one group covers the chunk).
  uint4 wraw[Ring];
  uint32_t sraw[Ring][2][2];
  auto fetch = [&](int u, int c) {
    if (c >= chunks) return;
    wraw[u] = load_stream(wp + size_t(c) * 32);
#pragma unroll
    for (int h = 0; h < (OneGroupPerChunk ? 1 : 2); ++h) {
      // Within the scales: columns of padded chunks map to the padded groups (Int4Layout::groups).
      const uint32_t* sw = sp + size_t((c * 64 + 32 * h) >> group_shift) * np;
      sraw[u][h][0] = __ldg(sw);
      sraw[u][h][1] = __ldg(sw + 8);
    }
  };
  // Nothing writes the weights: the ring fills before waiting for the previous kernel.
#pragma unroll
  for (int u = 0; u < Ring; ++u) fetch(u, warp + u * kWarps);
  pdl_launch_dependents();
  pdl_wait();

  // Lane (g, t) supplies token g's activations as the B fragment (zero past the last token).
  const bool has_token = g < tokens;
  const T* xg = static_cast<const T*>(a.x) + size_t(has_token ? g : 0) * k;
  float acc[1][4] = {{0.0f, 0.0f, 0.0f, 0.0f}};
  for (int c0 = warp; c0 < chunks; c0 += kWarps * Ring) {
#pragma unroll
    for (int u = 0; u < Ring; ++u) {
      const int c = c0 + u * kWarps;
      if (c >= chunks) break;
      const uint4 wv = wraw[u];
      uint32_t sv[2][2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        sv[h][0] = sraw[u][OneGroupPerChunk ? 0 : h][0];
        sv[h][1] = sraw[u][OneGroupPerChunk ? 0 : h][1];
      }
      fetch(u, c + kWarps * Ring);  // the slot's next chunk goes out before this one's math
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int col = c * 64 + 32 * h;
        if (col >= k) break;  // padded columns: zero weights and no activations
        const uint4 b[1] = {has_token ? __ldg(reinterpret_cast<const uint4*>(xg + col + 8 * t)) : make_uint4(0, 0, 0, 0)};
        int4_half_chunk_mma<T, 1>(acc, wv, h, sv[h][0], sv[h][1], b);
      }
    }
  }

#pragma unroll
  for (int e = 0; e < 4; ++e) partial[warp][e][lane] = acc[0][e];
  __syncthreads();
  if (threadIdx.x >= 4 * 32) return;
  const int e = threadIdx.x / 32, l = threadIdx.x % 32;
  // The accumulator layout of m16n8k16: e 0, 1 are row l / 4, e 2, 3 row l / 4 + 8; tokens 2 (l % 4) + e % 2.
  const int row = strip * 16 + l / 4 + (e / 2) * 8, tok = 2 * (l % 4) + e % 2;
  if (row >= n || tok >= tokens) return;
  float v = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) v += partial[w][e][l];
  int4_store_output<T>(a, row, tok, v);
}

template <typename T>
void launch_typed(const Int4GemmArgs& a, int group_shift, const KernelLaunch& launch) {
  const dim3 grid(unsigned(a.layout.n_padded() / 16));
  if (group_shift >= 6)
    launch_pdl(int4_gemv_kernel<T, true>, grid, kWarps * 32, 0, launch, a, group_shift);
  else
    launch_pdl(int4_gemv_kernel<T, false>, grid, kWarps * 32, 0, launch, a, group_shift);
}

}  // namespace

bool launch_int4_gemv(const Int4GemmArgs& a, const KernelLaunch& launch) {
  const Int4Layout& l = a.layout;
  const int group = l.group_size;
  if (a.tokens < 1 || a.tokens > kInt4GemvMaxTokens || l.n < 1 || l.k < 1 || l.k % 32 != 0) return false;
  if (group < 32 || (group & (group - 1)) != 0) return false;
  if (!aligned16({a.x, a.w}) || reinterpret_cast<uintptr_t>(a.out) % 4 != 0) return false;
  if (a.out_dtype != a.dtype && a.out_dtype != DType::F32) return false;
  if (a.dtype != DType::F16 && a.dtype != DType::BF16) return false;
  int group_shift = 0;
  while ((1 << group_shift) < group) ++group_shift;
  TURBINE_DISPATCH_HALF(a.dtype, launch_typed<T>(a, group_shift, launch));
  TURBINE_CUDA_LAUNCH_CHECK();
  return true;
}

}  // namespace turbine::cuda
