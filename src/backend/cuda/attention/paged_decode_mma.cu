// Decode attention over a quantized KV cache on tensor cores (--kv-decode-mma on): the work split of
// paged_decode.cu (a block per decode sequence, KV head and context split; 4 warps, each with its own
// online softmax; the same merge), but each warp takes 16 keys at a time through mma.sync m16n8k16
// (fp16 in, fp32 accumulate) instead of fp32 FMAs per lane. A quantized row costs a lane far fewer
// instructions this way: its codes become fp16 operands with a byte permute and one exact subtraction
// per two values, and the scale and zero are applied per key, not per value.
//
// The products, with the block's query heads (up to 8) as rows 0..7 of the m16 tiles:
//   scores S[head][key] = Q[head][:] . codes[key][:], then s = scale_k * S + zero_k * sum(q)
//     (A = Q, B = the 16 keys' K codes as two n8 tiles; the C layout of S is the A layout of P);
//   out^T[dim][head] += codes_V^T[dim][key] . P'[key][head], P' = p * scale_k / R, plus
//     Z[head] = sum_k p * zero_k beside it (A = V codes, B = P').
// R is the largest V scale of the warp's current tile, so that P' <= p keeps the precision of the
// probabilities themselves in fp16; when R changes, acc is rescaled with the softmax's correction (one
// multiply either way). The warp's state is out = R * acc + Z over l.
// The dot products' dimension order is free, so each lane reads contiguous bytes of a row and the
// fragments take whatever order those bytes give: lane (g, t) reads bytes [t D/4, (t+1) D/4) of the
// values (int8: D/4 bytes) of keys g and g + 8 for K, and values [g D/8, (g+1) D/8) of keys 2t, 2t + 1,
// 2t + 8, 2t + 9 for V; the query fragments are gathered in K's order and the output scattered back
// from V's (lane_k_dim, phys_v_dim). Each warp loads its next tile's rows before the current tile's
// math, at the same 3 blocks per SM the registers allowed without that prefetch.
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cfloat>

#include "backend/cuda/attention/attention_route.h"
#include "backend/cuda/attention/decode_merge.cuh"
#include "backend/cuda/attention/kv_quant.cuh"
#include "backend/cuda/attention/paged_decode_mma.h"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"

namespace turbine::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kTile = 16;                   // keys per warp step
constexpr int kMaxGroup = kDecodeMaxGroup;  // query heads per KV head: rows 0..7 of the m16 tiles
constexpr float kLog2e = 1.4426950408889634f;
constexpr uint32_t kMagicBytes = 0x64646464u;  // 0x64 in a half's high byte: 1024 + the low byte
constexpr uint32_t kHalf1024x2 = 0x64006400u;

__device__ __forceinline__ void mma_f16(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                        uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// half2(1024 + a, 1024 + b) -> half2(a, b), exact.
__device__ __forceinline__ uint32_t minus1024(uint32_t h2) {
  uint32_t r;
  asm("sub.f16x2 %0, %1, %2;\n" : "=r"(r) : "r"(h2), "r"(kHalf1024x2));
  return r;
}
// Two e4m3 codes (the lower into .x) as half2, exact.
__device__ __forceinline__ uint32_t fp8x2_to_half2(uint32_t pair) {
  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t(pair & 0xffffu), __NV_E4M3);
  return uint32_t(h.x) | (uint32_t(h.y) << 16);
}
// Nibbles s and s + 4 of `word` as half2, exact.
__device__ __forceinline__ uint32_t nibble_pair(uint32_t word, int s) {
  return minus1024(((word >> (4 * s)) & 0x000f000fu) | kHalf1024x2);
}

// Bytes per lane of a K row (keys g, g + 8) and of a V row (keys 2t, 2t+1, 2t+8, 2t+9).
template <KvFormat F, int D>
__host__ __device__ constexpr int k_lane_bytes() {
  return kv_element_bytes<F>(D) / 4;
}
template <KvFormat F, int D>
__host__ __device__ constexpr int v_lane_bytes() {
  return kv_element_bytes<F>(D) / 8;
}

// K fragment slot s (0, 1: b0 b1; 2, 3: b2 b3) of k-chunk j holds this dimension of the lane's D / 4
// (lane t: dimensions t D/4 + that): the order the lane's bytes come in (int4: a word's nibbles pair
// up as (n, n + 4)).
template <KvFormat F>
__host__ __device__ constexpr int lane_k_dim(int j, int s) {
  if constexpr (F == KvFormat::Int4) {
    const int h = j & 1;
    return 8 * (j >> 1) + (s == 0 ? 2 * h : s == 1 ? 2 * h + 4 : s == 2 ? 2 * h + 1 : 2 * h + 5);
  } else {
    return 4 * j + s;
  }
}
// The physical dimension of V / output row g (r = 0) or g + 8 (r = 1) of m-tile i.
template <int D>
__device__ __forceinline__ int phys_v_dim(int g, int i, int r) {
  return g * (D / 8) + 2 * i + r;
}

// Chunk j's B fragment of one key from the lane's words of its K row.
template <KvFormat F>
__device__ __forceinline__ void key_fragment(const uint32_t* words, int j, uint32_t& b01, uint32_t& b23) {
  if constexpr (F == KvFormat::Int4) {
    const uint32_t w = words[j >> 1];
    b01 = nibble_pair(w, 2 * (j & 1));
    b23 = nibble_pair(w, 2 * (j & 1) + 1);
  } else if constexpr (F == KvFormat::Int8) {
    b01 = minus1024(__byte_perm(words[j], kMagicBytes, 0x4140));
    b23 = minus1024(__byte_perm(words[j], kMagicBytes, 0x4342));
  } else {
    b01 = fp8x2_to_half2(words[j]);
    b23 = fp8x2_to_half2(words[j] >> 16);
  }
}

// M-tile i's A fragment halves from the lane's words of two keys' V rows (x: the lower key): rows g
// (r0) and g + 8 (r1), each a half2 of (x, y).
template <KvFormat F>
__device__ __forceinline__ void value_fragment(const uint32_t* x, const uint32_t* y, int i, uint32_t& r0,
                                               uint32_t& r1) {
  if constexpr (F == KvFormat::Int4) {
    const int w = i >> 2, s = 2 * (i & 3);  // nibbles s, s + 1 of word w
    const uint32_t p = s < 4 ? __byte_perm(x[w], y[w], 0x5410) : __byte_perm(x[w], y[w], 0x7632);
    r0 = minus1024(((p >> (4 * (s & 3))) & 0x000f000fu) | kHalf1024x2);
    r1 = minus1024(((p >> (4 * (s & 3) + 4)) & 0x000f000fu) | kHalf1024x2);
  } else {
    const int w = i >> 1;
    const uint32_t p = (i & 1) ? __byte_perm(x[w], y[w], 0x7362) : __byte_perm(x[w], y[w], 0x5140);
    if constexpr (F == KvFormat::Int8) {
      r0 = minus1024(__byte_perm(p, kMagicBytes, 0x4140));
      r1 = minus1024(__byte_perm(p, kMagicBytes, 0x4342));
    } else {
      r0 = fp8x2_to_half2(p);
      r1 = fp8x2_to_half2(p >> 16);
    }
  }
}

// N bytes of a row read once (4, 8, 16 or 32), as words.
template <int N>
__device__ __forceinline__ void load_lane_bytes(const uint8_t* at, uint32_t (&w)[N / 4]) {
  if constexpr (N >= 16) {
#pragma unroll
    for (int c = 0; c < N / 16; ++c) {
      const uint4 v = load_stream(at + 16 * c);
      w[4 * c] = v.x, w[4 * c + 1] = v.y, w[4 * c + 2] = v.z, w[4 * c + 3] = v.w;
    }
  } else if constexpr (N == 8) {
    asm volatile("ld.global.nc.L1::no_allocate.v2.u32 {%0, %1}, [%2];" : "=r"(w[0]), "=r"(w[1]) : "l"(at));
  } else {
    asm volatile("ld.global.nc.L1::no_allocate.u32 %0, [%1];" : "=r"(w[0]) : "l"(at));
  }
}

// One tile's rows as a lane holds them (paged_decode_mma_kernel's load_tile).
template <KvFormat F, int D>
struct TileRows {
  uint32_t kw[2][k_lane_bytes<F, D>() / 4];    // K codes of keys g, g + 8
  uint32_t kpar[2][2], vpar[2][2];              // parameter words of keys 2t + e + 8 hf
  uint32_t vw[2][2][v_lane_bytes<F, D>() / 4];  // their V codes
};

// At most 168 registers, so that 3 blocks share an SM while a tile's rows load behind the previous one's math.
template <typename T, int D, KvFormat F>
__global__ void __launch_bounds__(kWarps * 32, 3)
    paged_decode_mma_kernel(PagedAttentionParams p, int splits, int split_len, float* part_acc, float* part_ml,
                            unsigned* counters) {
  static_assert(F != KvFormat::Dense, "a quantized cache");
  constexpr int kChunks = D / 16;                   // k-chunks of Q K^T, m-tiles of P V
  constexpr int KB = k_lane_bytes<F, D>(), VB = v_lane_bytes<F, D>();
  constexpr int kEB = kv_element_bytes<F>(D), kPB = F == KvFormat::Fp8 ? 2 : 4;
  __shared__ float wm[kWarps][kMaxGroup], wl[kWarps][kMaxGroup];
  __shared__ float wacc[kWarps][kMaxGroup][D];
  pdl_launch_dependents();
  const int seq = p.decode_seqs[blockIdx.x], kvh = blockIdx.y, split = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int group = p.num_heads / p.num_kv_heads;
  const int tok = p.query_start[seq];
  const int ctx = p.context_lens[seq], qpos = ctx - 1;
  int key_begin = p.sliding_window > 0 ? max(0, qpos - p.sliding_window + 1) : 0;
  key_begin = max(key_begin, split * split_len);
  const int key_end = min(ctx, (split + 1) * split_len);
  const size_t head0 = size_t(tok) * p.num_heads + size_t(kvh) * group;
  const int* table = p.block_tables + size_t(seq) * p.max_blocks;
  const uint8_t* layer = static_cast<const uint8_t*>(p.cache_layer);
  const size_t k_rows = size_t(kvh) * p.block_len, v_rows = size_t(p.num_kv_heads + kvh) * p.block_len;
  pdl_wait();  // q and this step's row come from the previous kernels

  // Query head g's A fragments (fp16) in K's dimension order, and its sum; rows g + 8 are zero.
  uint32_t qa[kChunks][2];
  float qsum = 0.0f;
  {
    float qf[D / 4];
    const T* qrow = static_cast<const T*>(p.q) + (head0 + g) * D + t * (D / 4);
#pragma unroll
    for (int c = 0; c < D / 32; ++c) {
      if (g < group) {  // a row past the group may be past the tensor
        unpack8<T>(*reinterpret_cast<const uint4*>(qrow + 8 * c), qf + 8 * c);
      } else {
#pragma unroll
        for (int e = 0; e < 8; ++e) qf[8 * c + e] = 0.0f;
      }
    }
#pragma unroll
    for (int j = 0; j < kChunks; ++j) {
      __half h[4];
#pragma unroll
      for (int s = 0; s < 4; ++s) {
        h[s] = __float2half_rn(qf[lane_k_dim<F>(j, s)]);
        qsum += __half2float(h[s]);
      }
      qa[j][0] = uint32_t(__half_as_ushort(h[0])) | (uint32_t(__half_as_ushort(h[1])) << 16);
      qa[j][1] = uint32_t(__half_as_ushort(h[2])) | (uint32_t(__half_as_ushort(h[3])) << 16);
    }
    qsum += __shfl_xor_sync(0xffffffffu, qsum, 1);
    qsum += __shfl_xor_sync(0xffffffffu, qsum, 2);
  }
  const float qscale = p.scale * kLog2e;

  float acc[kChunks][4];
#pragma unroll
  for (int i = 0; i < kChunks; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;
  float m = -FLT_MAX, l = 0.0f, z = 0.0f;  // head g's running max (log2 units), sum and zero term
  float ref = 0.0f;                         // R, warp-uniform (0: no V scale above 0 yet)

  // One tile's rows as this lane reads them: K codes of keys g and g + 8, then the parameter words and V
  // codes of keys 2t + e + 8 hf (this lane's scores). Keys at or past key_end stay 0.
  auto load_tile = [&](int base, TileRows<F, D>& r) {
    // Key base + i lives at offset o0 + i of the tile's first block, or in the blocks after it.
    const int b0 = base / p.block_len, o0 = base - b0 * p.block_len;
    auto row_start = [&](int i) {  // the block and the key's offset in it
      int b = b0, o = o0 + i;
      while (o >= p.block_len) o -= p.block_len, ++b;
      return make_int2(table[b], o);
    };
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
#pragma unroll
      for (int w = 0; w < KB / 4; ++w) r.kw[hf][w] = 0u;
      if (base + 8 * hf + g < key_end) {
        const int2 at = row_start(8 * hf + g);
        load_lane_bytes<KB>(layer + size_t(at.x) * p.kv_block_bytes + (k_rows + at.y) * kEB + t * KB, r.kw[hf]);
      }
    }
#pragma unroll
    for (int hf = 0; hf < 2; ++hf)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int i = 8 * hf + 2 * t + e;
        r.kpar[hf][e] = r.vpar[hf][e] = 0u;
#pragma unroll
        for (int w = 0; w < VB / 4; ++w) r.vw[hf][e][w] = 0u;
        if (base + i < key_end) {
          const int2 at = row_start(i);
          const uint8_t* block = layer + size_t(at.x) * p.kv_block_bytes;
          r.kpar[hf][e] = load_kv_param_word_stream<F>(block + p.kv_param_offset + (k_rows + at.y) * kPB, false);
          r.vpar[hf][e] = load_kv_param_word_stream<F>(block + p.kv_param_offset + (v_rows + at.y) * kPB, false);
          load_lane_bytes<VB>(block + (v_rows + at.y) * kEB + g * VB, r.vw[hf][e]);
        }
      }
  };

  TileRows<F, D> cur;
  int base = key_begin + warp * kTile;
  load_tile(base, cur);
  for (; base < key_end; base += kWarps * kTile) {  // warp-uniform
    // The next tile's rows are in flight while this one's are used (none past the end).
    TileRows<F, D> next;
    load_tile(base + kWarps * kTile, next);
    const auto& kw = cur.kw;
    const auto& kpar = cur.kpar;
    const auto& vpar = cur.vpar;
    const auto& vw = cur.vw;
    bool valid[2][2];
#pragma unroll
    for (int hf = 0; hf < 2; ++hf)
#pragma unroll
      for (int e = 0; e < 2; ++e) valid[hf][e] = base + 8 * hf + 2 * t + e < key_end && g < group;

    // Scores of head g for keys 2t + e + 8 hf.
    float s[2][4];
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      s[hf][0] = s[hf][1] = s[hf][2] = s[hf][3] = 0.0f;
#pragma unroll
      for (int j = 0; j < kChunks; ++j) {
        uint32_t b01, b23;
        key_fragment<F>(kw[hf], j, b01, b23);
        mma_f16(s[hf], qa[j][0], 0u, qa[j][1], 0u, b01, b23);
      }
    }
    float mx = m;
#pragma unroll
    for (int hf = 0; hf < 2; ++hf)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const float2 sz = kv_params_of(kpar[hf][e]);
        s[hf][e] = qscale * (sz.x * s[hf][e] + sz.y * qsum);
        if (valid[hf][e]) mx = fmaxf(mx, s[hf][e]);
      }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float correction = exp2f(m - mx);  // both finite: -FLT_MAX before any key
    m = mx;
    // Probabilities, and the tile's largest V scale against R.
    float pr[2][2], vscale[2][2], tile_ref = 0.0f;
    l *= correction;
    z *= correction;
#pragma unroll
    for (int hf = 0; hf < 2; ++hf)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const float2 sz = kv_params_of(vpar[hf][e]);
        pr[hf][e] = valid[hf][e] ? exp2f(s[hf][e] - mx) : 0.0f;
        vscale[hf][e] = sz.x;
        l += pr[hf][e];
        z += pr[hf][e] * sz.y;
        tile_ref = fmaxf(tile_ref, sz.x);
      }
    tile_ref = fmaxf(tile_ref, __shfl_xor_sync(0xffffffffu, tile_ref, 1));
    tile_ref = fmaxf(tile_ref, __shfl_xor_sync(0xffffffffu, tile_ref, 2));
    float rescale = 1.0f;
    if (tile_ref > 0.0f) {  // warp-uniform: every lane saw the same 16 keys' scales
      rescale = ref / tile_ref;  // 0 before the first: acc is still 0
      ref = tile_ref;
    }
    // The output columns are heads 2t and 2t + 1: their corrections come from lanes 4 (2t) and 4 (2t + 1).
    const float c_lo = __shfl_sync(0xffffffffu, correction, 8 * t) * rescale;
    const float c_hi = __shfl_sync(0xffffffffu, correction, 8 * t + 4) * rescale;
    const float inv_ref = ref > 0.0f ? 1.0f / ref : 0.0f;
    const __half2 p01 = __floats2half2_rn(pr[0][0] * vscale[0][0] * inv_ref, pr[0][1] * vscale[0][1] * inv_ref);
    const __half2 p23 = __floats2half2_rn(pr[1][0] * vscale[1][0] * inv_ref, pr[1][1] * vscale[1][1] * inv_ref);
    const uint32_t b01 = *reinterpret_cast<const uint32_t*>(&p01), b23 = *reinterpret_cast<const uint32_t*>(&p23);
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      acc[i][0] *= c_lo, acc[i][1] *= c_hi, acc[i][2] *= c_lo, acc[i][3] *= c_hi;
      uint32_t a0, a1, a2, a3;
      value_fragment<F>(vw[0][0], vw[0][1], i, a0, a1);
      value_fragment<F>(vw[1][0], vw[1][1], i, a2, a3);
      mma_f16(acc[i], a0, a1, a2, a3, b01, b23);
    }
    cur = next;
  }

  // Head g's sums over its lanes; the output columns' zero terms from lanes 4 (2t) and 4 (2t + 1).
  l += __shfl_xor_sync(0xffffffffu, l, 1);
  l += __shfl_xor_sync(0xffffffffu, l, 2);
  z += __shfl_xor_sync(0xffffffffu, z, 1);
  z += __shfl_xor_sync(0xffffffffu, z, 2);
  const float z_lo = __shfl_sync(0xffffffffu, z, 8 * t), z_hi = __shfl_sync(0xffffffffu, z, 8 * t + 4);
#pragma unroll
  for (int i = 0; i < kChunks; ++i)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int d = phys_v_dim<D>(g, i, r);
      if (2 * t < group) wacc[warp][2 * t][d] = ref * acc[i][2 * r] + z_lo;
      if (2 * t + 1 < group) wacc[warp][2 * t + 1][d] = ref * acc[i][2 * r + 1] + z_hi;
    }
  if (t == 0 && g < group) {
    wm[warp][g] = l > 0.0f ? m : -FLT_MAX;
    wl[warp][g] = l;
  }
  merge_decode_states<T, D, kMaxGroup, kWarps>(p, splits, split, head0, group, wm, wl, wacc, part_acc, part_ml,
                                               counters);
}

template <typename T, int D>
void launch_dim(const PagedAttentionParams& p, int splits, int split_len, float* part_acc, float* part_ml,
                unsigned* counters, const KernelLaunch& launch) {
  const dim3 grid(p.num_decode, p.num_kv_heads, splits);
  switch (p.kv_format) {
    case KvFormat::Int8:
      launch_pdl(paged_decode_mma_kernel<T, D, KvFormat::Int8>, grid, kWarps * 32, 0, launch, p, splits, split_len,
                 part_acc, part_ml, counters);
      break;
    case KvFormat::Int4:
      launch_pdl(paged_decode_mma_kernel<T, D, KvFormat::Int4>, grid, kWarps * 32, 0, launch, p, splits, split_len,
                 part_acc, part_ml, counters);
      break;
    case KvFormat::Fp8:
      launch_pdl(paged_decode_mma_kernel<T, D, KvFormat::Fp8>, grid, kWarps * 32, 0, launch, p, splits, split_len,
                 part_acc, part_ml, counters);
      break;
    case KvFormat::Dense: fail("cuda decode attention (mma): a dense cache");
  }
}

}  // namespace

bool paged_decode_mma_serves(const PagedAttentionParams& p) {
  return p.decode_mma && p.kv_format != KvFormat::Dense && (p.head_dim == 64 || p.head_dim == 128) &&
         p.num_heads / p.num_kv_heads <= kMaxGroup;
}

void launch_paged_decode_mma(const PagedAttentionParams& p, int splits, int split_len, float* workspace,
                             unsigned* counters, const KernelLaunch& launch) {
  float* part_acc = workspace;
  float* part_ml = workspace ? workspace + size_t(splits) * p.num_tokens * p.num_heads * p.head_dim : nullptr;
  TURBINE_DISPATCH_HALF(p.dtype, {
    if (p.head_dim == 64)
      launch_dim<T, 64>(p, splits, split_len, part_acc, part_ml, counters, launch);
    else
      launch_dim<T, 128>(p, splits, split_len, part_acc, part_ml, counters, launch);
  });
}

}  // namespace turbine::cuda
