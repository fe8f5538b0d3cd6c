// out[T, N] = x[T, K] @ w[N, K]^T with 4-bit weights for T of 1..16 (decode): one pass over the weights
// that keeps loads in flight from the first chunk to the last, with few instructions per weight. At
// these token counts the weights are all the bytes, so the kernel should stream them at the copy
// bandwidth; at that rate an SM has about 150 issue slots per 512-byte chunk, so what limits it is
// the instructions a chunk costs (docs/performance.md has what it reaches).
//
// Work: 16-row strips of the output. A persistent grid (at most three blocks per SM, the launch
// bounds) takes strips blockIdx.x, blockIdx.x + gridDim.x, ...; a block's kWarps warps split each
// strip's K into runs of consecutive 64-column chunks. Each lane copies its 16 bytes of a chunk and
// the chunk's scale words into a ring of shared-memory stages with cp.async, one commit group per
// chunk, and reads back only its own copies once the group has landed; the ring runs on across the
// block's strips (as a chunk is consumed, the copy of the chunk a ring ahead goes into its stage,
// whichever strip that chunk is in). So a block never waits for a strip's first loads, no wave of
// short blocks leaves SMs idle at its end, and a wait covers exactly one chunk: with the ring in
// registers, the handful of scoreboards a warp has made each wait also cover loads issued later.
// The activations come through L1 one chunk ahead, read after the PDL wait (load_after_wait).
//
// Arithmetic (int4_gemm.h has the layout). A packed word becomes its mma A fragment with no
// arithmetic beyond the masks: the low nibbles (rows g) as 1024 + q, the high ones (rows g + 8) as
// 1024 + 16 q (fp16; bf16 shifts each nibble down and reads 128 + q). A second mma per 16 columns, of
// a constant fragment holding -(1024 + zero) and -(1024 + 16 zero) for the two rows, adds the offsets
// times the same activations, so the fp32 sums are of (q - zero) x (16 times that for rows g + 8):
// the products are exact in fp32 and only the sums round. The scale (over 16 for rows g + 8)
// multiplies each group's sums once per row and token. The tokens are the mma's 8-wide B columns (one
// tile up to 8 tokens, two up to 16; those past T zero). A strip's warps' sums meet in shared memory
// in a fixed order, so repeated launches give the same bits whatever the grid.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <type_traits>

#include "backend/cuda/common/cp_async.cuh"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/int4_fragment.cuh"
#include "backend/cuda/gemm/int4_gemv.h"

namespace turbine::cuda {
namespace {

// 8 warps and, per SM, up to three blocks (the launch bounds: at most 85 registers; the shared
// memory of three fits). A ring of 8 chunks per lane (6 where a chunk has two groups or there are two
// token tiles): 8 warps x 8 x 512 bytes in flight per block.
constexpr int kWarps = 8, kThreads = kWarps * 32;
constexpr int kBlocksPerSm = 3;
template <int NT, bool OneGroupPerChunk>
constexpr int kStages = NT == 1 && OneGroupPerChunk ? 8 : 6;
static_assert(kInt4GemvMaxTokens <= 16, "two mma token tiles");

// The dynamic shared memory: the ring's weight words [stage][thread] and scale words
// [stage][half][row g, g + 8][thread] (each lane reads back only what it copied), then the strips'
// partial sums [2][warp][tile][4][lane].
template <int NT, bool OneGroupPerChunk>
constexpr size_t smem_bytes() {
  constexpr int halves = OneGroupPerChunk ? 1 : 2;
  return size_t(kStages<NT, OneGroupPerChunk>) * kThreads * (16 + 8 * halves) + size_t(2) * kWarps * NT * 4 * 32 * 4;
}

// A packed word (int4_gemm.h: pairs 0 and 2 are row g, pairs 1 and 3 row g + 8) as the mma A fragment
// of the codes plus an offset: fp16 1024 + q for rows g and 1024 + 16 q for rows g + 8; bf16 128 + q
// for both (bf16's 128 has too few mantissa bits for 16 q).
template <typename T>
__device__ __forceinline__ void code_fragment(uint32_t word, uint32_t (&frag)[4]) {
  constexpr uint32_t magic = Int4Pair<T>::kMagic;
  if constexpr (std::is_same_v<T, __half>) {
    const uint32_t w2 = word >> 8;
    frag[0] = (word & 0x000f000fu) | magic;
    frag[1] = (word & 0x00f000f0u) | magic;
    frag[2] = (w2 & 0x000f000fu) | magic;
    frag[3] = (w2 & 0x00f000f0u) | magic;
  } else {
    frag[0] = (word & 0x000f000fu) | magic;
    frag[1] = ((word >> 4) & 0x000f000fu) | magic;
    frag[2] = ((word >> 8) & 0x000f000fu) | magic;
    frag[3] = ((word >> 12) & 0x000f000fu) | magic;
  }
}

// One group span's constants for a lane's rows g and g + 8, from their scale words (the scale in the
// low half, magic + zero in the high half): the offset fragment and the fp32 scales of the sums.
struct Span {
  uint32_t offset[4];  // the A fragment: rows g (a0, a2) and g + 8 (a1, a3)
  float scale_g, scale_g8;
};
template <typename T>
__device__ __forceinline__ Span span_of(uint32_t word_g, uint32_t word_g8) {
  Span s;
  const uint32_t zero_g = __byte_perm(word_g, 0, 0x3232), zero_g8 = __byte_perm(word_g8, 0, 0x3232);
  if constexpr (std::is_same_v<T, __half>) {
    s.offset[0] = zero_g ^ 0x80008000u;  // -(1024 + zero)
    // -(1024 + 16 zero) = 15360 - 16 (1024 + zero), exact in fp16.
    const __half2 z8 = *reinterpret_cast<const __half2*>(&zero_g8);
    const __half2 off8 = __hfma2(z8, __half2half2(__ushort_as_half(0xcc00)), __half2half2(__ushort_as_half(0x7380)));
    s.offset[1] = *reinterpret_cast<const uint32_t*>(&off8);
    s.scale_g = __half2float(__ushort_as_half(uint16_t(word_g & 0xffffu)));
    s.scale_g8 = __half2float(__ushort_as_half(uint16_t(word_g8 & 0xffffu))) * 0.0625f;
  } else {
    s.offset[0] = zero_g ^ 0x80008000u;  // -(128 + zero)
    s.offset[1] = zero_g8 ^ 0x80008000u;
    s.scale_g = __uint_as_float(word_g << 16);
    s.scale_g8 = __uint_as_float(word_g8 << 16);
  }
  s.offset[2] = s.offset[0], s.offset[3] = s.offset[1];
  return s;
}

// A chunk's dependent mma are its latency (a warp issues in order), so one token tile's products go
// to two chains of accumulators, one per 16-column step; two tiles are two chains already (and have
// no registers to spare).
template <int NT>
constexpr int kChains = NT == 1 ? 2 : 1;

// sums[c][j] (+)= half chunk h's products (the lane's words `w`) with token tile j's B fragments: two
// 16-column steps, each one mma of the codes and one of the span's offsets, step sub into chain
// sub % kChains. `first`: the span's first half chunk (the sums start from zero).
template <typename T, int NT>
__device__ __forceinline__ void half_chunk_products(float (&sums)[kChains<NT>][NT][4], bool first, const uint4& w,
                                                    int h, const Span& s, const uint4 (&b)[NT]) {
  const uint32_t* words = reinterpret_cast<const uint32_t*>(&w);
#pragma unroll
  for (int sub = 0; sub < 2; ++sub) {
    uint32_t frag[4];
    code_fragment<T>(words[2 * h + sub], frag);
#pragma unroll
    for (int j = 0; j < NT; ++j) {
      const uint32_t* bw = reinterpret_cast<const uint32_t*>(&b[j]);
      float(&chain)[4] = sums[sub % kChains<NT>][j];
      if (first && sub < kChains<NT>)
        mma_m16n8k16_zero<T>(chain, s.offset, bw[2 * sub], bw[2 * sub + 1]);
      else
        mma_m16n8k16<T>(chain, s.offset, bw[2 * sub], bw[2 * sub + 1]);
      mma_m16n8k16<T>(chain, frag, bw[2 * sub], bw[2 * sub + 1]);
    }
  }
}

// acc += the span's sums times its rows' scales (accumulator rows: e 0, 1 row g; e 2, 3 row g + 8).
template <int NT>
__device__ __forceinline__ void add_scaled(float (&acc)[NT][4], const float (&sums)[kChains<NT>][NT][4],
                                           const Span& s) {
#pragma unroll
  for (int j = 0; j < NT; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float sum = sums[0][j][e];
#pragma unroll
      for (int c = 1; c < kChains<NT>; ++c) sum += sums[c][j][e];
      acc[j][e] = fmaf(e < 2 ? s.scale_g : s.scale_g8, sum, acc[j][e]);
    }
}

template <typename T, int NT, bool OneGroupPerChunk>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm) int4_gemv_kernel(Int4GemmArgs a, int group_shift) {
  constexpr int Stages = kStages<NT, OneGroupPerChunk>;
  constexpr int Halves = OneGroupPerChunk ? 1 : 2;  // scale words per chunk and row
  extern __shared__ uint4 smem[];
  uint4* ring_w = smem;                                                                // [Stages][kThreads]
  uint32_t* ring_s = reinterpret_cast<uint32_t*>(ring_w + Stages * kThreads);          // [Stages][Halves][2][kThreads]
  float* partial = reinterpret_cast<float*>(ring_s + Stages * Halves * 2 * kThreads);  // [2][kWarps][NT][4][32]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
  const int n = int(a.layout.n), k = int(a.layout.k), tokens = a.tokens;
  const int np = (n + 15) / 16 * 16, chunks = (k + 63) / 64;  // Int4Layout's padding
  const int strips = np / 16;
  // Warp w takes the strip's chunks first_chunk .. first_chunk + per_warp - 1 (those below `chunks`).
  const int per_warp = (chunks + kWarps - 1) / kWarps, first_chunk = warp * per_warp;
  const int block_strips = (strips - int(blockIdx.x) + int(gridDim.x) - 1) / int(gridDim.x);
  const int items = block_strips * per_warp;  // the warp's chunk slots, strip after strip

  // The fetch cursor: chunk f_chunk of strip f_strip, whose lane words are w_lane[f_word] and whose
  // rows' scale words (of the chunk's first group) are s_lane[f_scale], all offsets advanced as the
  // cursor moves (32 bits: the launcher refuses larger layouts). A chunk past the strip's last, or a
  // strip past the last, is copied as zeros.
  const uint4* w_lane = reinterpret_cast<const uint4*>(a.w) + lane;
  const uint32_t* s_lane = a.scales + g;
  const int run_end = min(first_chunk + per_warp, chunks);  // the warp's chunks of a strip end here
  const int run_stop = first_chunk + per_warp;              // and its slots here
  const int group_mask = (1 << max(group_shift - 6, 0)) - 1;  // chunks per group (one or more), less one
  // Within the scales: columns of padded chunks map to the padded groups (Int4Layout::groups).
  const uint32_t first_scale = uint32_t((first_chunk * 64) >> group_shift) * uint32_t(np);
  int f_strip = int(blockIdx.x), f_chunk = first_chunk;
  uint32_t f_word = uint32_t((f_strip * chunks + f_chunk) * 32), f_scale = first_scale + uint32_t(f_strip * 16);
  const uint32_t next_strip_words =
      uint32_t((int(gridDim.x) * chunks - per_warp) * 32);  // a run's end to the next's start
  // An invalid copy reads nothing (cp_async16), so its address needs no clamping.
  auto fetch = [&](int u) {
    const bool valid = f_strip < strips && f_chunk < run_end;
    cp_async16(ring_w + u * kThreads + tid, w_lane + f_word, valid);
#pragma unroll
    for (int h = 0; h < Halves; ++h) {
      const uint32_t* sw = s_lane + (f_scale + uint32_t(h * np));
      cp_async4(ring_s + ((u * Halves + h) * 2 + 0) * kThreads + tid, sw, valid);
      cp_async4(ring_s + ((u * Halves + h) * 2 + 1) * kThreads + tid, sw + 8, valid);
    }
    cp_async_commit();
    ++f_chunk, f_word += 32u;
    // Two groups a chunk (32), one, or one every group_mask + 1 chunks.
    if (!OneGroupPerChunk)
      f_scale += 2u * uint32_t(np);
    else if ((f_chunk & group_mask) == 0)
      f_scale += uint32_t(np);
    if (f_chunk == run_stop) {
      f_chunk = first_chunk, f_strip += int(gridDim.x), f_word += next_strip_words;
      f_scale = first_scale + uint32_t(f_strip * 16);
    }
  };
  // Nothing writes the weights: the ring fills before waiting for the previous kernel.
#pragma unroll
  for (int u = 0; u < Stages; ++u) fetch(u);
  pdl_launch_dependents();
  pdl_wait();

  // Lane (g, t) supplies tokens 8 j + g as the B fragments: 16 bytes of a half chunk each, loaded one
  // chunk ahead, zero past K (a padded half chunk's codes are zero, but its group's zero point is not).
  // Output columns past T are not stored, so a lane past the last token reads the last token's
  // activations instead of zeros.
  const T* x_lane[NT];
#pragma unroll
  for (int j = 0; j < NT; ++j) x_lane[j] = static_cast<const T*>(a.x) + size_t(min(8 * j + g, tokens - 1)) * k + 8 * t;
  auto load_x = [&](int c, uint4(&b)[2][NT]) {
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int col = c * 64 + 32 * h;
        b[h][j] = col < k ? load_after_wait(x_lane[j] + col) : make_uint4(0, 0, 0, 0);
      }
  };
  uint4 bx[2][2][NT];  // [item parity][half][tile]
  load_x(first_chunk, bx[0]);

  float acc[NT][4] = {};
  int strip = int(blockIdx.x), slot = 0, buffer = 0;
  for (int base = 0; base < items; base += Stages) {
#pragma unroll
    for (int u = 0; u < Stages; ++u) {
      if (base + u < items) {  // the same for every warp of the block
        const int c = first_chunk + slot;
        const bool last_slot = slot + 1 == per_warp;
        load_x(last_slot ? first_chunk : c + 1, bx[(u + 1) % 2]);  // Stages is even: the parity alternates
        cp_async_wait<Stages - 1>();                               // this slot's copies have landed
        const uint4 wv = ring_w[u * kThreads + tid];
        uint32_t sv[Halves][2];
#pragma unroll
        for (int h = 0; h < Halves; ++h)
#pragma unroll
          for (int r = 0; r < 2; ++r) sv[h][r] = ring_s[((u * Halves + h) * 2 + r) * kThreads + tid];
        // Past K the weights and activations are zero (a padded half chunk, or a chunk past the
        // strip's last): their products add nothing.
        float sums[kChains<NT>][NT][4];
        Span s = span_of<T>(sv[0][0], sv[0][1]);
        half_chunk_products<T, NT>(sums, true, wv, 0, s, bx[u % 2][0]);
        if (!OneGroupPerChunk) {
          add_scaled<NT>(acc, sums, s);
          s = span_of<T>(sv[Halves - 1][0], sv[Halves - 1][1]);
        }
        half_chunk_products<T, NT>(sums, !OneGroupPerChunk, wv, 1, s, bx[u % 2][1]);
        add_scaled<NT>(acc, sums, s);
        fetch(u);  // the slot's next chunk, a ring ahead (its words are in registers now)
        if (++slot == per_warp) {
          // The strip is done: its warps' sums meet in shared memory, in warp order.
          float* part = partial + buffer * (kWarps * NT * 4 * 32);
#pragma unroll
          for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) part[((warp * NT + j) * 4 + e) * 32 + lane] = acc[j][e], acc[j][e] = 0.0f;
          __syncthreads();
          if (tid < NT * 4 * 32) {
            const int j = tid / 128, e = tid / 32 % 4, l = tid % 32;
            // The accumulator layout of m16n8k16: e 0, 1 are row l / 4, e 2, 3 row l / 4 + 8; tokens
            // 8 j + 2 (l % 4) + e % 2.
            const int row = strip * 16 + l / 4 + (e / 2) * 8, tok = 8 * j + 2 * (l % 4) + e % 2;
            if (row < n && tok < tokens) {
              float v = 0.0f;
#pragma unroll
              for (int w = 0; w < kWarps; ++w) v += part[((w * NT + j) * 4 + e) * 32 + l];
              int4_store_output<T>(a, row, tok, v);
            }
          }
          slot = 0, strip += int(gridDim.x), buffer ^= 1;
        }
      }
    }
  }
  cp_async_wait<0>();  // no copy outlives the block
}

template <typename T, int NT, bool OneGroupPerChunk>
void launch_kernel(const Int4GemmArgs& a, int group_shift, int sms, const KernelLaunch& launch) {
  auto kernel = int4_gemv_kernel<T, NT, OneGroupPerChunk>;
  constexpr size_t smem = smem_bytes<NT, OneGroupPerChunk>();
  static_assert(smem * kBlocksPerSm <= 227 * 1024, "the blocks of an SM fit its shared memory");
  TURBINE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  const int64_t strips = a.layout.n_padded() / 16;
  const dim3 grid(unsigned(std::min<int64_t>(strips, int64_t(sms) * kBlocksPerSm)));
  launch_pdl(kernel, grid, kThreads, smem, launch, a, group_shift);
}

template <typename T>
void launch_typed(const Int4GemmArgs& a, int group_shift, int sms, const KernelLaunch& launch) {
  const bool one_group = group_shift >= 6;
  if (a.tokens <= 8)
    one_group ? launch_kernel<T, 1, true>(a, group_shift, sms, launch)
              : launch_kernel<T, 1, false>(a, group_shift, sms, launch);
  else
    one_group ? launch_kernel<T, 2, true>(a, group_shift, sms, launch)
              : launch_kernel<T, 2, false>(a, group_shift, sms, launch);
}

}  // namespace

bool launch_int4_gemv(const Int4GemmArgs& a, int sms, const KernelLaunch& launch) {
  const Int4Layout& l = a.layout;
  const int group = l.group_size;
  if (a.tokens < 1 || a.tokens > kInt4GemvMaxTokens || l.n < 1 || l.k < 1 || l.k % 32 != 0 || sms < 1) return false;
  if (l.packed_words() / 2 >= (int64_t(1) << 31) || l.scale_words() >= (int64_t(1) << 30))
    return false;  // 32-bit offsets
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
