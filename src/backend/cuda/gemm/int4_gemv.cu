// out[T, N] = x[T, K] @ w[N, K]^T with 4-bit weights for T of 1..16 (decode): one pass over the weights
// that keeps loads in flight from the first chunk to the last, with few instructions per weight. At
// these token counts the weights are all the bytes, so the kernel should stream them at the copy
// bandwidth; at that rate an SM has about 150 issue slots per 512-byte chunk, so what limits it is
// the instructions a chunk costs (docs/performance.md has what it reaches).
//
// Work: 16-row strips of the output. A persistent grid (at most three blocks per SM; two at 9-16 tokens
// and for at most two strips per SM) takes strips blockIdx.x, blockIdx.x + gridDim.x, ...; a block's kWarps warps
// split each strip's K into runs of consecutive 64-column chunks, a run being whole stages. A stage is a
// few consecutive chunks of one strip (four where the group size is 128 or more, else one) and the scale
// words of its two spans (a span: half a stage's columns, within one group). Each lane copies its 16 bytes
// of each chunk of a stage, and lanes 0-7 the scale words of the stage's spans, into a ring of
// shared-memory stages with cp.async (16-byte copies, past L1, which keeps the activations), one commit
// group per stage; once the group has landed, a lane reads back its own weight words and its rows' scale
// words. The ring runs on across the block's strips (as a stage is consumed, the copy of the stage a ring
// ahead goes into its slot, whichever strip that stage is in). So a block never waits for a strip's first
// loads, no wave of short blocks leaves SMs idle at its end, and a wait covers exactly one stage: with the
// ring in registers, the handful of scoreboards a warp has made each wait also cover loads issued later.
// What a stage costs besides its products (the copies' addresses, the commit and the wait, the loop, a
// span's scale arithmetic) is paid once per stage or span, not per chunk. The activations come through L1
// one chunk ahead, read after the PDL wait (load_after_wait).
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
//
// With a pre-norm (Int4GemvPreNorm, one token), each block first computes its input itself: x + delta
// and its sum of squares into shared memory, one block reduction, then the normalised row, rounded to
// T as add_rms_norm's output is; the chunks' activations are then read from there. That takes the
// norm's kernel, and its place in the layer's chain of kernels, off a decode step of one sequence for
// the price of each block reading 2-3 rows of K from L2 (block 0 also writes the updated residual).
// It can also end with the op after it (Int4GemvEpilogue): SwiGLU for gate_up, RoPE and the cache
// write for qkv, which take two outputs each (gate and up rows, a rotation pair's dims) that lie in
// different strips; GemvFusion says how strips are paired so that one thread holds both.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <type_traits>

#include "backend/cuda/attention/qkv_rope_epilogue.cuh"
#include "backend/cuda/common/cp_async.cuh"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/int4_fragment.cuh"
#include "backend/cuda/gemm/int4_gemv.h"

namespace turbine::cuda {
namespace {

// 8 warps and, per SM, up to three blocks (kMaxRegisters; the shared memory of three fits, and leaves
// L1 room for the activations). SC chunks a stage (4: group sizes of 128 and more; 1: 32 and 64) and a
// ring of kStages stages: 64 to 128 bytes a lane in flight.
// TwoBlocks: the instance for outputs of at most two strips per SM at 1-8 tokens (Llama's o and down
// projections, N 4096 on 132 SMs), which never has a third block on an SM, and for every output at
// 9-16 tokens (group sizes of 128 and more). Its registers at 1-8 tokens: under PDL
// the next kernel's blocks start on an SM while this one runs, and their copies before the PDL wait
// are what hides that kernel's first loads, so two blocks here leave room for one of the next (a
// one-token GEMV, 80 registers): 2 x 256 x 88 + 256 x 80 is the SM's 65,536. With 115 (what ptxas
// takes unbounded) it was faster alone and slower in the decode chain (docs/experiments.md).
constexpr int kWarps = 8, kThreads = kWarps * 32;
template <bool TwoBlocks>
constexpr int kBlocksPerSm = TwoBlocks ? 2 : 3;
// Registers a thread, allocated in steps of 8: three blocks of 256 threads share the 65,536 (85: 80).
// The two-block instance at 9-16 tokens (two token tiles) takes 112: no GEMV follows a GEMV there (the
// kernel after qkv, o, gate_up and down is RoPE, a norm or SwiGLU), and 2 x 256 x 112 leaves it 8,192.
// Three blocks of 80 registers could not keep the 16-token loads in flight (docs/experiments.md).
template <int NT, bool TwoBlocks>
constexpr int kMaxRegisters = !TwoBlocks ? 80
                              : NT == 1  ? 88
                                         : 112;
static_assert(kBlocksPerSm<false> * kThreads * kMaxRegisters<1, false> <= 65536);
static_assert(kBlocksPerSm<true> * kThreads * kMaxRegisters<1, true> + kThreads * kMaxRegisters<1, false> <= 65536);
static_assert(kBlocksPerSm<true> * kThreads * kMaxRegisters<2, true> <= 65536);
template <int NT, int SC>
constexpr int kStages = SC == 4 ? 2 : (NT == 1 ? 8 : 6);
// The strips' partial sums are double-buffered (one barrier a strip) where the shared memory allows.
template <int NT>
constexpr int kPartialBuffers = NT == 1 ? 2 : 1;
static_assert(kInt4GemvMaxTokens <= 16, "two mma token tiles");

// The dynamic shared memory: the ring's weight words [stage][chunk][thread] (each lane reads back only
// what it copied) and scale words [stage][warp][span][row] (a span's 16 rows, copied by four lanes of
// the warp), then the strips' partial sums [buffer][warp][tile][4][lane].
// With a pre-norm the normalised row follows: k_padded values of the compute dtype (2 bytes).
template <int NT, int SC>
constexpr size_t smem_bytes() {
  return size_t(kStages<NT, SC>) * (kThreads * 16 * SC + kWarps * 2 * 16 * 4) +
         size_t(kPartialBuffers<NT>) * kWarps * NT * 4 * 32 * 4;
}

// (w & Mask) | Bits: one lop3 (and_or) for one token tile; two tiles keep C++'s form, which ptxas
// makes two LOP3 of: with one lop3 the 16-token instance was slower (docs/experiments.md, 2026-12-06).
template <int NT, uint32_t Mask, uint32_t Bits>
__device__ __forceinline__ uint32_t masked_or(uint32_t w) {
  if constexpr (NT == 1)
    return and_or<Mask, Bits>(w);
  else
    return (w & Mask) | Bits;
}

// A packed word (int4_gemm.h: pairs 0 and 2 are row g, pairs 1 and 3 row g + 8) as the mma A fragment
// of the codes plus an offset: fp16 1024 + q for rows g and 1024 + 16 q for rows g + 8; bf16 128 + q
// for both (bf16's 128 has too few mantissa bits for 16 q).
template <typename T, int NT>
__device__ __forceinline__ void code_fragment(uint32_t word, uint32_t (&frag)[4]) {
  constexpr uint32_t magic = Int4Pair<T>::kMagic;
  if constexpr (std::is_same_v<T, __half>) {
    const uint32_t w2 = word >> 8;
    frag[0] = masked_or<NT, 0x000f000fu, magic>(word);
    frag[1] = masked_or<NT, 0x00f000f0u, magic>(word);
    frag[2] = masked_or<NT, 0x000f000fu, magic>(w2);
    frag[3] = masked_or<NT, 0x00f000f0u, magic>(w2);
  } else {
    frag[0] = masked_or<NT, 0x000f000fu, magic>(word);
    frag[1] = masked_or<NT, 0x000f000fu, magic>(word >> 4);
    frag[2] = masked_or<NT, 0x000f000fu, magic>(word >> 8);
    frag[3] = masked_or<NT, 0x000f000fu, magic>(word >> 12);
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

// Two token tiles add each span's offsets to the code fragment (an add a register, exact: q - zero) and
// run one mma a tile per 16 columns; one tile keeps the offsets' own mma, as its code fragments cost
// one lop3 a register and its issue slots are what it lacks (docs/experiments.md, 2026-12-07).
template <int NT>
constexpr bool kOffsetsInFragment = NT == 2;

// a + b as pairs of T.
template <typename T>
__device__ __forceinline__ uint32_t add_pairs(uint32_t a, uint32_t b) {
  using Pair = std::conditional_t<std::is_same_v<T, __half>, __half2, __nv_bfloat162>;
  const Pair sum = __hadd2(*reinterpret_cast<const Pair*>(&a), *reinterpret_cast<const Pair*>(&b));
  return *reinterpret_cast<const uint32_t*>(&sum);
}

// sums[c][j] (+)= half chunk h's products (the lane's words `w`) with token tile j's B fragments: two
// 16-column steps, each the mma of the codes and the span's offsets (kOffsetsInFragment: one mma, else
// two), step sub into chain sub % kChains. `first`: the span's first half chunk (the sums start from zero).
template <typename T, int NT>
__device__ __forceinline__ void half_chunk_products(float (&sums)[kChains<NT>][NT][4], bool first, const uint4& w,
                                                    int h, const Span& s, const uint4 (&b)[NT]) {
  const uint32_t* words = reinterpret_cast<const uint32_t*>(&w);
#pragma unroll
  for (int sub = 0; sub < 2; ++sub) {
    uint32_t frag[4];
    code_fragment<T, NT>(words[2 * h + sub], frag);
    if constexpr (kOffsetsInFragment<NT>)
#pragma unroll
      for (int r = 0; r < 4; ++r) frag[r] = add_pairs<T>(frag[r], s.offset[r]);  // q - zero, exact in T
#pragma unroll
    for (int j = 0; j < NT; ++j) {
      const uint32_t* bw = reinterpret_cast<const uint32_t*>(&b[j]);
      float(&chain)[4] = sums[sub % kChains<NT>][j];
      const bool starts = first && sub < kChains<NT>;
      if constexpr (kOffsetsInFragment<NT>) {
        if (starts)
          mma_m16n8k16_zero<T>(chain, frag, bw[2 * sub], bw[2 * sub + 1]);
        else
          mma_m16n8k16<T>(chain, frag, bw[2 * sub], bw[2 * sub + 1]);
      } else {
        if (starts)
          mma_m16n8k16_zero<T>(chain, s.offset, bw[2 * sub], bw[2 * sub + 1]);
        else
          mma_m16n8k16<T>(chain, s.offset, bw[2 * sub], bw[2 * sub + 1]);
        mma_m16n8k16<T>(chain, frag, bw[2 * sub], bw[2 * sub + 1]);
      }
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

#include "backend/cuda/gemm/int4_gemv_fusion.cuh"  // within this namespace: it reads kThreads, kWarps

// SC chunks a stage and two spans of SC x 32 columns: a span lies in one group (the launcher picks SC
// from the group size), so it takes one scale word per row.
template <typename T, int NT, int SC, bool Norm, bool TwoBlocks>
__global__ void __launch_bounds__(kThreads) __maxnreg__((kMaxRegisters<NT, TwoBlocks>))
    int4_gemv_kernel(Int4GemmArgs a, int group_shift, GemvFusion fusion) {
  static_assert(!Norm || NT == 1, "the pre-norm takes one token");
  constexpr int Stages = kStages<NT, SC>, SpanCols = SC * 32;
  extern __shared__ uint4 smem[];
  __shared__ float red[kWarps];
  uint4* ring_w = smem;                                                             // [Stages][SC][kThreads]
  uint32_t* ring_s = reinterpret_cast<uint32_t*>(ring_w + Stages * SC * kThreads);  // [Stages][kWarps][2][16]
  float* partial = reinterpret_cast<float*>(ring_s + Stages * kWarps * 2 * 16);     // [buffer][kWarps][NT][4][32]
  uint4* x_s = reinterpret_cast<uint4*>(partial + kPartialBuffers<NT> * kWarps * NT * 4 * 32);  // pre-norm: [kp / 8]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
  const int n = int(a.layout.n), k = int(a.layout.k), tokens = a.tokens;
  const int np = (n + 15) / 16 * 16, chunks = (k + 63) / 64;  // Int4Layout's padding
  const int strips = np / 16;
  // The block's strips j = 0, 1, ...: blockIdx.x + j gridDim.x, or under a paired epilogue the two of
  // unit blockIdx.x + (j / 2) gridDim.x.
  const bool paired = Norm && fusion.epilogue != Int4GemvEpilogue::Store;
  const int units = paired ? strips / 2 : strips;
  const int block_units = (units - int(blockIdx.x) + int(gridDim.x) - 1) / int(gridDim.x);
  const int block_strips = paired ? 2 * block_units : block_units;
  auto strip_at = [&](int j) {
    if (!paired) return int(blockIdx.x) + j * int(gridDim.x);
    const int u = int(blockIdx.x) + (j >> 1) * int(gridDim.x);
    const bool pairs = u < fusion.paired_units;
    const int first = pairs ? u / fusion.span * 2 * fusion.span + u % fusion.span : 2 * u;
    return (j & 1) == 0 ? first : first + (pairs ? fusion.span : 1);
  };
  // Warp w takes the strip's chunks first_chunk .. first_chunk + per_warp - 1 (those below `chunks`),
  // whole stages of them.
  const int per_warp = ((chunks + kWarps - 1) / kWarps + SC - 1) / SC * SC, first_chunk = warp * per_warp;
  const int stages_per_strip = per_warp / SC;
  const int items = block_strips * stages_per_strip;  // the warp's stages, strip after strip

  // The fetch cursor: chunk f_chunk of strip f_strip (32-bit offsets: the launcher refuses larger
  // layouts). A chunk past the strip's last, or a strip past the last, is copied as zeros; so are the
  // scale words of a span whose first chunk is past the last.
  const uint4* w_lane = reinterpret_cast<const uint4*>(a.w) + lane;
  // Lanes 0-7 copy the scale words: lane l the rows 4 (l % 4) .. 4 (l % 4) + 3 of span l / 4, one
  // 16-byte copy past L1 (4-byte copies would go through L1 and evict the activations).
  const int s_span = (lane >> 2) & 1, s_rows = 4 * (lane & 3);
  const bool copies_scales = lane < 8;
  const uint32_t* s_lane = a.scales + s_rows;
  uint32_t* s_ring = ring_s + (warp * 2 + s_span) * 16 + s_rows;  // stage 0's
  const int run_end = min(first_chunk + per_warp, chunks);        // the warp's chunks of a strip end here
  const int run_stop = first_chunk + per_warp;                    // and its slots here
  int f_j = 0, f_strip = strip_at(0), f_chunk = first_chunk;
  // An invalid copy reads nothing (cp_async16), so its address needs no clamping.
  auto fetch = [&](int u) {
    const bool strip_ok = Norm ? f_j < block_strips : f_strip < strips;
    const uint4* w = w_lane + uint32_t(f_strip * chunks + f_chunk) * 32u;
#pragma unroll
    for (int i = 0; i < SC; ++i)
      cp_async16(ring_w + (u * SC + i) * kThreads + tid, w + 32 * i, strip_ok && f_chunk + i < run_end);
    if (copies_scales) {
      // Within the scales, columns of padded chunks map to the padded groups (Int4Layout::groups).
      const uint32_t group = uint32_t((f_chunk * 64 + s_span * SpanCols) >> group_shift);
      const uint32_t* sw = s_lane + (group * uint32_t(np) + uint32_t(f_strip * 16));
      cp_async16(s_ring + u * (kWarps * 2 * 16), sw, strip_ok && f_chunk + s_span * (SC / 2) < run_end);
    }
    cp_async_commit();
    f_chunk += SC;
    if (f_chunk == run_stop) {
      f_chunk = first_chunk;
      if constexpr (Norm)
        f_strip = strip_at(++f_j);
      else
        f_strip += int(gridDim.x);
    }
  };
  // Nothing writes the weights: the ring fills before waiting for the previous kernel.
#pragma unroll
  for (int u = 0; u < Stages; ++u) fetch(u);
  if constexpr (Norm) {
    const GammaChunks gam = load_gamma(fusion.pre, k);
    pdl_launch_dependents();
    pdl_wait();
    pre_norm_row<T>(a, fusion.pre, k, chunks * 64, x_s, red, gam);
  } else {
    pdl_launch_dependents();
    pdl_wait();
  }

  // Lane (g, t) supplies tokens 8 j + g as the B fragments: 16 bytes of a half chunk each, loaded one
  // chunk ahead, zero past K (a padded half chunk's codes are zero, but its group's zero point is not).
  // Output columns past T are not stored, so a lane past the last token reads the last token's
  // activations instead of zeros.
  const T* x_lane[NT];
#pragma unroll
  for (int j = 0; j < NT; ++j) x_lane[j] = static_cast<const T*>(a.x) + size_t(min(8 * j + g, tokens - 1)) * k + 8 * t;
  // One token tile: one address a chunk, the second half chunk's 64 bytes on as the load's offset. Two
  // tiles keep an address per half chunk, which measured faster there (docs/experiments.md, 2026-12-06).
  auto load_x = [&](int c, uint4(&b)[2][NT]) {
    if constexpr (NT == 1) {
      const int col = c * 64;
      const bool in0 = col < k, in1 = col + 32 < k;
      if constexpr (Norm) {
        const uint4* p = x_s + c * 8 + t;
        b[0][0] = in0 ? p[0] : make_uint4(0, 0, 0, 0);
        b[1][0] = in1 ? p[4] : make_uint4(0, 0, 0, 0);
      } else {
        const T* p = x_lane[0] + col;
        b[0][0] = in0 ? load_after_wait(p) : make_uint4(0, 0, 0, 0);
        b[1][0] = in1 ? load_after_wait<64>(p) : make_uint4(0, 0, 0, 0);
      }
    } else {
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int j = 0; j < NT; ++j) {
          const int col = c * 64 + 32 * h;
          b[h][j] = col < k ? load_after_wait(x_lane[j] + col) : make_uint4(0, 0, 0, 0);
        }
    }
  };
  uint4 bx[2][2][NT];  // [chunk parity][half][tile]
  load_x(first_chunk, bx[0]);

  float acc[NT][4] = {};
  int j_strip = 0, strip = strip_at(0), stage = 0, u = 0, buffer = 0;
  float held = 0.0f;  // a paired epilogue: this thread's row of the unit's first strip
  // One stage of the ring (slot u), its first chunk's activations in bx[P] (the parity alternates
  // chunk by chunk, so it is a constant of each chunk's code).
  auto consume_stage = [&](auto first_parity) {
    constexpr int P = decltype(first_parity)::value;
    const int c0 = first_chunk + stage * SC;
    const bool strip_ends = stage + 1 == stages_per_strip;
    cp_async_wait<Stages - 1>();  // this lane's copies of the stage have landed
    __syncwarp();                 // and so have the scale words lanes 0-7 copied
    uint32_t sv[2][2];
    const uint32_t* scales = ring_s + (u * kWarps + warp) * 2 * 16;
#pragma unroll
    for (int sp = 0; sp < 2; ++sp)
#pragma unroll
      for (int r = 0; r < 2; ++r) sv[sp][r] = scales[sp * 16 + g + 8 * r];
    float sums[kChains<NT>][NT][4];
    Span s;
#pragma unroll
    for (int i = 0; i < SC; ++i) {
      // The next chunk's activations: the stage's next chunk, else the next stage's first (the
      // strip's first when this stage ends the strip).
      const int next = i + 1 < SC ? c0 + i + 1 : (strip_ends ? first_chunk : c0 + SC);
      load_x(next, bx[(P + i + 1) % 2]);
      const uint4 wv = ring_w[(u * SC + i) * kThreads + tid];
      // Past K the weights and activations are zero (a padded half chunk, or a chunk past the
      // strip's last): their products add nothing.
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int col = i * 64 + h * 32;  // within the stage
        const bool span_first = col % SpanCols == 0, span_last = (col + 32) % SpanCols == 0;
        if (span_first) s = span_of<T>(sv[col / SpanCols][0], sv[col / SpanCols][1]);
        half_chunk_products<T, NT>(sums, span_first, wv, h, s, bx[(P + i) % 2][h]);
        if (span_last) add_scaled<NT>(acc, sums, s);
      }
    }
    __syncwarp();  // every lane has read the stage's scale words before they are copied over
    fetch(u);      // the slot's next stage, a ring ahead (this stage's words are in registers now)
    u = u + 1 == Stages ? 0 : u + 1;
    if (!strip_ends) {
      ++stage;
      return;
    }
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
        if (!paired) {
          int4_store_output<T>(a, row, tok, v);
        } else {
          // The output as linear would store it, read back (int4_store_output's rounding).
          v = to_float(from_float<T>(v));
          if (a.bias) v = to_float(from_float<T>(v + to_float(static_cast<const T*>(a.bias)[row])));
          if ((j_strip & 1) == 0) {
            held = v;
          } else {
            const int unit = int(blockIdx.x) + (j_strip >> 1) * int(gridDim.x);
            const int row_a = strip_at(j_strip - 1) * 16 + (row - strip * 16);
            paired_epilogue<T>(a, fusion, unit < fusion.paired_units, row_a, row, held, v);
          }
        }
      }
    }
    if constexpr (kPartialBuffers<NT> == 1)
      __syncthreads();  // the sums are read before the next strip's are written
    else
      buffer ^= 1;
    stage = 0;
    if constexpr (Norm)
      strip = strip_at(++j_strip);
    else
      strip += int(gridDim.x);
  };
  // The same for every warp of the block. With an odd SC the parity of a stage's first chunk
  // alternates, so stages go in pairs.
  for (int it = 0; it < items;) {
    consume_stage(std::integral_constant<int, 0>{});
    ++it;
    if constexpr (SC % 2 == 1) {
      if (it < items) {
        consume_stage(std::integral_constant<int, 1>{});
        ++it;
      }
    }
  }
  cp_async_wait<0>();  // no copy outlives the block
}

template <typename T, int NT, int SC, bool Norm = false, bool TwoBlocks = false>
void launch_kernel(const Int4GemmArgs& a, int group_shift, int sms, const KernelLaunch& launch,
                   const GemvFusion& fusion = {}) {
  auto kernel = int4_gemv_kernel<T, NT, SC, Norm, TwoBlocks>;
  constexpr size_t ring = smem_bytes<NT, SC>(), row_max = size_t(kInt4GemvPreNormMaxK) * 2;
  static_assert((ring + (Norm ? row_max : 0) + 1024) * kBlocksPerSm<TwoBlocks> <= 228 * 1024,
                "the blocks of an SM fit its shared memory");
  const size_t smem = ring + (Norm ? size_t(a.layout.k_padded()) * 2 : 0);
  TURBINE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  // The one-token GEMVs with and without the fused ops ask for one shared-memory configuration (72%:
  // 164 KB, three fused blocks up to K 4096), so a decode step's chain of them does not change an SM's
  // configuration, which waits for the SM to drain, at every other kernel.
  if constexpr (NT == 1 && SC == 4)
    TURBINE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, 72));
  // At 9-16 tokens every block rereads all the tokens' activations of K for each strip (128 KB at K
  // 4096), through L1. Asking for 43% (98 KB) lets the two blocks' rings (88 KB) take the 100 KB
  // shared-memory configuration and leaves L1 about 156 KB; the driver's own choice, sized for three
  // blocks (which the registers do not allow), was 132 KB and left L1 about 121 (docs/performance.md).
  if constexpr (NT == 2 && TwoBlocks)
    TURBINE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, 43));
  const int64_t strips = a.layout.n_padded() / 16;
  const int64_t units = fusion.epilogue == Int4GemvEpilogue::Store ? strips : strips / 2;
  const dim3 grid(unsigned(std::min<int64_t>(units, int64_t(sms) * kBlocksPerSm<TwoBlocks>)));
  launch_pdl(kernel, grid, kThreads, smem, launch, a, group_shift, fusion);
}

// Four chunks a stage where a span of 128 columns lies in one group (group sizes of 128 and more),
// else one (spans of 32 columns).
// With a pre-norm: the one instance it has (one token, four chunks a stage). At 9-16 tokens, and at 1-8
// where the strips are at most two per SM: the two-block instance.
template <typename T>
void launch_typed(const Int4GemmArgs& a, int group_shift, int sms, const KernelLaunch& launch,
                  const GemvFusion* fusion) {
  const bool wide = group_shift >= 7;
  if (fusion)
    launch_kernel<T, 1, 4, true>(a, group_shift, sms, launch, *fusion);
  else if (wide && a.tokens > 8)
    launch_kernel<T, 2, 4, false, true>(a, group_shift, sms, launch);
  else if (wide && a.layout.n_padded() / 16 <= kBlocksPerSm<true> * int64_t(sms))
    launch_kernel<T, 1, 4, false, true>(a, group_shift, sms, launch);
  else if (a.tokens <= 8)
    wide ? launch_kernel<T, 1, 4>(a, group_shift, sms, launch) : launch_kernel<T, 1, 1>(a, group_shift, sms, launch);
  else
    launch_kernel<T, 2, 1>(a, group_shift, sms, launch);
}

}  // namespace

bool launch_int4_gemv(const Int4GemmArgs& a, int sms, const KernelLaunch& launch, const Int4GemvPreNorm* pre,
                      Int4GemvEpilogue epilogue, const QkvRopeParams* rope) {
  const Int4Layout& l = a.layout;
  const int group = l.group_size;
  if (a.tokens < 1 || a.tokens > kInt4GemvMaxTokens || l.n < 1 || l.k < 1 || l.k % 32 != 0 || sms < 1) return false;
  if (a.x_b_order) return false;  // natural order only
  if (l.packed_words() / 2 >= (int64_t(1) << 31) || l.scale_words() >= (int64_t(1) << 30))
    return false;  // 32-bit offsets
  if (group < 32 || (group & (group - 1)) != 0) return false;
  if (!aligned16({a.x, a.w, a.scales}) || reinterpret_cast<uintptr_t>(a.out) % 4 != 0) return false;
  if (a.out_dtype != a.dtype && a.out_dtype != DType::F32) return false;
  if (a.dtype != DType::F16 && a.dtype != DType::BF16) return false;
  GemvFusion fusion;
  if (pre && !make_fusion(a, *pre, epilogue, rope, fusion)) return false;
  int group_shift = 0;
  while ((1 << group_shift) < group) ++group_shift;
  TURBINE_DISPATCH_HALF(a.dtype, launch_typed<T>(a, group_shift, sms, launch, pre ? &fusion : nullptr));
  TURBINE_CUDA_LAUNCH_CHECK();
  return true;
}

}  // namespace turbine::cuda
