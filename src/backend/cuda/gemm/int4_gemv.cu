// out[T, N] = x[T, K] @ w[N, K]^T with 4-bit weights for T of 1..16 (decode): one pass over the weights
// that keeps loads in flight from the first chunk to the last, with few instructions per weight. At
// these token counts the weights are all the bytes, so the kernel should stream them at the copy
// bandwidth, and at that rate an SM has ~150 issue slots per 512-byte chunk (on an H100 it reaches about
// half that rate: docs/performance.md).
//
// Work: 16-row strips of the output. A persistent grid (at most two blocks per SM, the launch bounds)
// takes strips blockIdx.x, blockIdx.x + gridDim.x, ...; a block's kWarps warps split each strip's K
// chunk by chunk (64 columns; warp w takes chunks w, w + kWarps, ...). Each lane holds a ring of
// chunks' 16-byte weight loads (streamed past L1) and their scale words in registers, and the ring runs
// on across the block's strips: as soon as a chunk is consumed the load of the chunk a ring ahead goes
// into its slot, whichever strip that chunk is in. So a block never waits for a strip's first loads
// and no wave of short blocks leaves SMs idle at its end.
//
// Arithmetic per 32-column half chunk (int4_gemm.h has the layout): the codes become q - zero, exact
// in fp16 / bf16 (the magic-number trick; in fp16 the high nibble of a byte goes through one fma by
// 1/16 instead of a shift), and the mma sums their products with the activations in fp32; the scale
// multiplies each group's fp32 sums once per row and token, not each weight. The tokens are the mma's
// 8-wide B columns (one tile up to 8 tokens, two up to 16; those past T zero). The activations come
// through L1 (every block reads them). A strip's warps' sums meet in shared memory in a fixed order, so
// repeated launches give the same bits whatever the grid.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <type_traits>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/int4_fragment.cuh"
#include "backend/cuda/gemm/int4_gemv.h"

namespace turbine::cuda {
namespace {

// 8 warps with a ring of 8 chunks each at one token tile: 32 KB of weights in flight per block, and
// with at most 128 registers (the launch bounds) two blocks per SM. Group sizes of 32 need two scale
// words per chunk and row, and two token tiles twice the sums: their rings are shorter, so that the
// registers hold them without spilling.
constexpr int kWarps = 8;
constexpr int kBlocksPerSm = 2;
template <int NT, bool OneGroupPerChunk>
constexpr int kRing = NT == 1 ? (OneGroupPerChunk ? 8 : 6) : (OneGroupPerChunk ? 6 : 4);  // chunks in flight per lane
static_assert(kInt4GemvMaxTokens <= 16, "two mma token tiles");

// d = a * b over a zero accumulator (m16n8k16, fp32 out).
template <typename T>
__device__ __forceinline__ void mma_from_zero(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  d[0] = d[1] = d[2] = d[3] = 0.0f;
  int4_mma_16816<T>(d, a, b0, b1);
}

// One packed word (int4_gemm.h: pairs 0 and 2 are row g, pairs 1 and 3 row g + 8) as the mma A
// fragment of q - zero. zero_g / zero_g8: the offset zero (magic + zero) of rows g and g + 8 in both
// halves; neg_g8: -(64 + zero) of row g + 8 in both halves (fp16's high-nibble path).
template <typename T>
__device__ __forceinline__ void offset_fragment(uint32_t word, uint32_t zero_g, uint32_t zero_g8, uint32_t neg_g8,
                                                uint32_t (&frag)[4]) {
  if constexpr (std::is_same_v<T, __half>) {
    // Low nibbles: 1024 + q; high nibbles: 1024 + 16 q, times 1/16 plus -(64 + zero). Both exact.
    const __half2 sixteenth = __half2half2(__ushort_as_half(0x2c00));
    auto lo = [](uint32_t w) {
      uint32_t h = (w & 0x000f000fu) | 0x64006400u;
      return h;
    };
    auto hi = [](uint32_t w) {
      uint32_t h = (w & 0x00f000f0u) | 0x64006400u;
      return h;
    };
    const __half2 zg = *reinterpret_cast<const __half2*>(&zero_g);
    const __half2 ng8 = *reinterpret_cast<const __half2*>(&neg_g8);
    const uint32_t w2 = word >> 8;
    uint32_t l0 = lo(word), h1 = hi(word), l2 = lo(w2), h3 = hi(w2);
    const __half2 p0 = __hsub2(*reinterpret_cast<const __half2*>(&l0), zg);
    const __half2 p1 = __hfma2(*reinterpret_cast<const __half2*>(&h1), sixteenth, ng8);
    const __half2 p2 = __hsub2(*reinterpret_cast<const __half2*>(&l2), zg);
    const __half2 p3 = __hfma2(*reinterpret_cast<const __half2*>(&h3), sixteenth, ng8);
    frag[0] = *reinterpret_cast<const uint32_t*>(&p0);
    frag[1] = *reinterpret_cast<const uint32_t*>(&p1);
    frag[2] = *reinterpret_cast<const uint32_t*>(&p2);
    frag[3] = *reinterpret_cast<const uint32_t*>(&p3);
  } else {
    // bf16's 128 has too few mantissa bits for 16 q: every pair is shifted down and or'ed into 128.
    frag[0] = int4_offset_pair<T>(word, 0, zero_g);
    frag[1] = int4_offset_pair<T>(word, 1, zero_g8);
    frag[2] = int4_offset_pair<T>(word, 2, zero_g);
    frag[3] = int4_offset_pair<T>(word, 3, zero_g8);
  }
}

// The scale in a scale word's low half, as fp32.
template <typename T>
__device__ __forceinline__ float scale_of(uint32_t word) {
  if constexpr (std::is_same_v<T, __half>)
    return __half2float(__ushort_as_half(uint16_t(word & 0xffffu)));
  else
    return __uint_as_float(word << 16);
}

// A span of columns under one scale per row (a half chunk, or a whole chunk when one group covers it).
struct SpanScales {
  uint32_t zero_g, zero_g8, neg_g8;
  float scale_g, scale_g8;
};
template <typename T>
__device__ __forceinline__ SpanScales span_scales(uint32_t word_g, uint32_t word_g8) {
  SpanScales s;
  s.zero_g = __byte_perm(word_g, 0, 0x3232);
  s.zero_g8 = __byte_perm(word_g8, 0, 0x3232);
  if constexpr (std::is_same_v<T, __half>) {
    const __half2 neg = __hsub2(__half2half2(__float2half_rn(960.0f)), *reinterpret_cast<const __half2*>(&s.zero_g8));
    s.neg_g8 = *reinterpret_cast<const uint32_t*>(&neg);
  } else {
    s.neg_g8 = 0;
  }
  s.scale_g = scale_of<T>(word_g);
  s.scale_g8 = scale_of<T>(word_g8);
  return s;
}

// sums[j] += the products of half chunk h (the lane's words `w`) with token tile j's B fragments.
template <typename T, int NT>
__device__ __forceinline__ void half_chunk_products(float (&sums)[NT][4], bool first, const uint4& w, int h,
                                                    const SpanScales& s, const uint4 (&b)[NT]) {
  const uint32_t* words = reinterpret_cast<const uint32_t*>(&w);
#pragma unroll
  for (int sub = 0; sub < 2; ++sub) {
    uint32_t frag[4];
    offset_fragment<T>(words[2 * h + sub], s.zero_g, s.zero_g8, s.neg_g8, frag);
#pragma unroll
    for (int j = 0; j < NT; ++j) {
      const uint32_t* bw = reinterpret_cast<const uint32_t*>(&b[j]);
      if (first && sub == 0)
        mma_from_zero<T>(sums[j], frag, bw[0], bw[1]);
      else
        int4_mma_16816<T>(sums[j], frag, bw[2 * sub], bw[2 * sub + 1]);
    }
  }
}

// acc += the span's sums times its rows' scales (accumulator rows: e 0, 1 row g; e 2, 3 row g + 8).
template <int NT>
__device__ __forceinline__ void add_scaled(float (&acc)[NT][4], const float (&sums)[NT][4], const SpanScales& s) {
#pragma unroll
  for (int j = 0; j < NT; ++j) {
    acc[j][0] = fmaf(s.scale_g, sums[j][0], acc[j][0]);
    acc[j][1] = fmaf(s.scale_g, sums[j][1], acc[j][1]);
    acc[j][2] = fmaf(s.scale_g8, sums[j][2], acc[j][2]);
    acc[j][3] = fmaf(s.scale_g8, sums[j][3], acc[j][3]);
  }
}

template <typename T, int NT, bool OneGroupPerChunk>
__global__ void __launch_bounds__(kWarps * 32, kBlocksPerSm) int4_gemv_kernel(Int4GemmArgs a, int group_shift) {
  constexpr int Ring = kRing<NT, OneGroupPerChunk>;
  constexpr int Halves = OneGroupPerChunk ? 1 : 2;  // scale words per chunk and row
  // Two strips' partial sums: a strip's sums are written while the previous strip's may still be read.
  __shared__ float partial[2][kWarps][NT][4][32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int n = int(a.layout.n), k = int(a.layout.k), tokens = a.tokens;
  const int np = (n + 15) / 16 * 16, chunks = (k + 63) / 64;  // Int4Layout's padding
  const int strips = np / 16;
  const int per_warp = (chunks + kWarps - 1) / kWarps;  // chunk slots per warp and strip (the last may be empty)
  const uint4* w_lane = reinterpret_cast<const uint4*>(a.w) + lane;
  const uint32_t* s_row = a.scales + g;  // row g of strip 0; row g + 8 is 8 words on

  // Slot u of the ring: the lane's words of one chunk and the scale words of its rows g and g + 8 for
  // each half chunk (index 0 only when one group covers the chunk).
  uint4 wraw[Ring];
  uint32_t sraw[Ring][Halves][2];
  // The fetch cursor: slot j of strip f_strip (chunk warp + j * kWarps).
  int f_strip = int(blockIdx.x), f_slot = 0;
  auto fetch = [&](int u) {
    const int c = warp + f_slot * kWarps;
    if (f_strip < strips && c < chunks) {
      wraw[u] = load_stream(w_lane + (size_t(f_strip) * chunks + c) * 32);
      const uint32_t* sp = s_row + f_strip * 16;
#pragma unroll
      for (int h = 0; h < Halves; ++h) {
        // Within the scales: columns of padded chunks map to the padded groups (Int4Layout::groups).
        const uint32_t* sw = sp + size_t((c * 64 + 32 * h) >> group_shift) * np;
        sraw[u][h][0] = __ldg(sw);
        sraw[u][h][1] = __ldg(sw + 8);
      }
    }
    if (++f_slot == per_warp) f_slot = 0, f_strip += int(gridDim.x);
  };
  // Nothing writes the weights: the ring fills before waiting for the previous kernel.
#pragma unroll
  for (int u = 0; u < Ring; ++u) fetch(u);
  pdl_launch_dependents();
  pdl_wait();

  // Lane (g, t) supplies tokens g and 8 + g as the B fragments (zero past the last token).
  const T* x = static_cast<const T*>(a.x);
  float acc[NT][4] = {};
  int strip = int(blockIdx.x), slot = 0, buffer = 0;
  while (strip < strips) {
#pragma unroll
    for (int u = 0; u < Ring; ++u) {
      if (strip >= strips) break;
      const int c = warp + slot * kWarps;
      const uint4 wv = wraw[u];
      uint32_t sv[Halves][2];
#pragma unroll
      for (int h = 0; h < Halves; ++h) sv[h][0] = sraw[u][h][0], sv[h][1] = sraw[u][h][1];
      fetch(u);  // the slot's next chunk goes out before this one's math
      if (c < chunks) {
        float sums[NT][4];
        SpanScales s = span_scales<T>(sv[0][0], sv[0][1]);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int col = c * 64 + 32 * h;
          if (col >= k) break;  // padded columns: zero weights and no activations
          uint4 b[NT];
          load_token_fragments<T, NT>(x, k, tokens, 0, col, g, t, b);
          if (!OneGroupPerChunk && h == 1) s = span_scales<T>(sv[Halves - 1][0], sv[Halves - 1][1]);
          half_chunk_products<T, NT>(sums, OneGroupPerChunk ? h == 0 : true, wv, h, s, b);
          if (!OneGroupPerChunk) add_scaled<NT>(acc, sums, s);
        }
        if (OneGroupPerChunk) add_scaled<NT>(acc, sums, s);
      }
      if (++slot == per_warp) {
        // The strip is done: its warps' sums meet in shared memory, in warp order.
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) partial[buffer][warp][j][e][lane] = acc[j][e], acc[j][e] = 0.0f;
        __syncthreads();
        if (threadIdx.x < NT * 4 * 32) {
          const int j = threadIdx.x / 128, e = threadIdx.x / 32 % 4, l = threadIdx.x % 32;
          // The accumulator layout of m16n8k16: e 0, 1 are row l / 4, e 2, 3 row l / 4 + 8; tokens
          // 8 j + 2 (l % 4) + e % 2.
          const int row = strip * 16 + l / 4 + (e / 2) * 8, tok = 8 * j + 2 * (l % 4) + e % 2;
          if (row < n && tok < tokens) {
            float v = 0.0f;
#pragma unroll
            for (int w = 0; w < kWarps; ++w) v += partial[buffer][w][j][e][l];
            int4_store_output<T>(a, row, tok, v);
          }
        }
        slot = 0, strip += int(gridDim.x), buffer ^= 1;
      }
    }
  }
}

template <typename T, int NT>
void launch_tiles(const Int4GemmArgs& a, int group_shift, dim3 grid, const KernelLaunch& launch) {
  if (group_shift >= 6)
    launch_pdl(int4_gemv_kernel<T, NT, true>, grid, kWarps * 32, 0, launch, a, group_shift);
  else
    launch_pdl(int4_gemv_kernel<T, NT, false>, grid, kWarps * 32, 0, launch, a, group_shift);
}

template <typename T>
void launch_typed(const Int4GemmArgs& a, int group_shift, int sms, const KernelLaunch& launch) {
  const int64_t strips = a.layout.n_padded() / 16;
  const dim3 grid(unsigned(std::min<int64_t>(strips, int64_t(sms) * kBlocksPerSm)));
  if (a.tokens <= 8)
    launch_tiles<T, 1>(a, group_shift, grid, launch);
  else
    launch_tiles<T, 2>(a, group_shift, grid, launch);
}

}  // namespace

bool launch_int4_gemv(const Int4GemmArgs& a, int sms, const KernelLaunch& launch) {
  const Int4Layout& l = a.layout;
  const int group = l.group_size;
  if (a.tokens < 1 || a.tokens > kInt4GemvMaxTokens || l.n < 1 || l.k < 1 || l.k % 32 != 0 || sms < 1) return false;
  if (group < 32 || (group & (group - 1)) != 0) return false;
  if (!aligned16({a.x, a.w}) || reinterpret_cast<uintptr_t>(a.out) % 4 != 0) return false;
  if (a.out_dtype != a.dtype && a.out_dtype != DType::F32) return false;
  if (a.dtype != DType::F16 && a.dtype != DType::BF16) return false;
  int group_shift = 0;
  while ((1 << group_shift) < group) ++group_shift;
  TURBINE_DISPATCH_HALF(a.dtype, launch_typed<T>(a, group_shift, sms, launch));
  TURBINE_CUDA_LAUNCH_CHECK();
  return true;
}

}  // namespace turbine::cuda
