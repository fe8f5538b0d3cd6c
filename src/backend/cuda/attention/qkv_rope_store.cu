// Splits the fused qkv projection, applies the optional per-head q/k RMSNorm (Qwen3) and RoPE
// (rotate_half on the first rotary_dim dims), writes rotated q for attention and k/v into the
// paged cache at each token's slot.
#include <type_traits>

#include "backend/cuda/attention/kv_quant.cuh"
#include "backend/cuda/attention/qkv_rope_store.h"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"

namespace turbine::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxHeadDim = 512;
// Rotation pairs a lane takes before the PDL wait: rotary dims up to 128 (64 pairs over 32 lanes).
constexpr int kEarlyAngles = 2;

// sin and cos of rotation pair i at position pos, times the attention factor.
__device__ __forceinline__ void rope_angle(const QkvRopeParams& p, float pos, int i, float& s, float& c) {
  sincosf(pos * p.inv_freq[i], &s, &c);
  c *= p.attention_factor;
  s *= p.attention_factor;
}

// Grid (token, head group): each warp of the block takes one head (q heads, then k, then v), so
// a decode step's few tokens still spread over many blocks. With Vec (head_dim % 8 == 0, aligned
// rows) a head row moves in 16-byte chunks; each rotated pair (d, d + rotary_dim / 2) computes its
// angle once. F: the cache's format; into a quantized cache (head_dim 64 / 128) k and v rows are
// rotated in the warp's shared buffer, then the warp quantizes the row (attention/kv_quant.cuh).
template <typename T, bool Vec, KvFormat F>
__global__ void qkv_rope_store_kernel(QkvRopeParams p) {
  __shared__ float buf[kWarps][kMaxHeadDim];
  pdl_launch_dependents();
  const int t = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int D = p.head_dim, Hq = p.num_heads, Hkv = p.num_kv_heads;
  const T* row = static_cast<const T*>(p.qkv) + size_t(t) * (Hq + 2 * Hkv) * D;
  // The step's index arrays were copied before its first kernel and the frequencies are constant, so
  // the token's slot and the lane's first rotation angles are ready before the wait: after it, a head
  // costs one round trip (its qkv row) before its stores.
  const float pos = float(p.positions[t]);
  const int slot = p.slot_mapping[t];
  const int block = slot / p.block_len, offset = slot % p.block_len;
  float cos_r[kEarlyAngles], sin_r[kEarlyAngles];
#pragma unroll
  for (int r = 0; r < kEarlyAngles; ++r) {
    const int i = lane + 32 * r;
    cos_r[r] = sin_r[r] = 0.0f;
    if (i < p.rotary_dim / 2) rope_angle(p, pos, i, sin_r[r], cos_r[r]);
  }
  // Rotation pair i (i = lane + 32 r) of this token's position.
  auto angle = [&](int i, int r, float& s, float& c) {
    if (r < kEarlyAngles) {
#pragma unroll
      for (int e = 0; e < kEarlyAngles; ++e)
        if (e == r) s = sin_r[e], c = cos_r[e];
    } else {
      rope_angle(p, pos, i, s, c);
    }
  };
  pdl_wait();
  float* b = buf[warp];
  for (int h = blockIdx.y * kWarps + warp; h < Hq + 2 * Hkv; h += gridDim.y * kWarps) {
    const bool is_q = h < Hq, is_v = h >= Hq + Hkv;
    if (!is_q && slot < 0) break;  // a padding row of a recorded decode step: its K/V go nowhere
    const T* src = row + size_t(h) * D;
    float sq = 0.0f;
    if constexpr (Vec) {
      for (int c = lane; c < D / 8; c += 32) {
        unpack8<T>(*reinterpret_cast<const uint4*>(src + 8 * c), b + 8 * c);
#pragma unroll
        for (int e = 0; e < 8; ++e) sq += b[8 * c + e] * b[8 * c + e];
      }
    } else {
      for (int d = lane; d < D; d += 32) {
        const float v = to_float(src[d]);
        b[d] = v;
        sq += v * v;
      }
    }
    __syncwarp();
    const T* norm_w = is_v ? nullptr : static_cast<const T*>(is_q ? p.q_norm : p.k_norm);
    if (norm_w) {
      const float inv = rsqrtf(warp_sum(sq) / float(D) + p.norm_eps);
      // Rounded to T as the model does before rotating.
      for (int d = lane; d < D; d += 32) b[d] = to_float(from_float<T>(b[d] * inv * to_float(norm_w[d])));
      __syncwarp();
    }
    const int half = is_v ? 0 : p.rotary_dim / 2;
    if constexpr (F != KvFormat::Dense) {
      if (!is_q) {
        // Rotated in place (each lane owns its pairs), then quantized from fp32 like the host reference.
        for (int i = lane, r = 0; i < half; i += 32, ++r) {
          float s, c;
          angle(i, r, s, c);
          const float x = b[i], y = b[i + half];
          b[i] = x * c - y * s;
          b[i + half] = y * c + x * s;
        }
        __syncwarp();
        const QuantKvLayout layout{p.kv_block_bytes,       p.kv_param_offset,  p.block_len, Hkv,
                                   kv_element_bytes<F>(D), kv_param_bytes<F>()};
        const int kv = is_v ? 1 : 0, kvh = h - Hq - kv * Hkv;
        warp_quantize_row<F>(b, D, layout.elements(p.cache_layer, block, kv, kvh, offset),
                             layout.params(p.cache_layer, block, kv, kvh, offset), lane);
        __syncwarp();
        continue;
      }
    }
    T* dst;
    if (is_q) {
      dst = static_cast<T*>(p.q_out) + (size_t(t) * Hq + h) * D;
    } else {
      const int kv = is_v ? 1 : 0, kvh = h - Hq - kv * Hkv;
      dst = static_cast<T*>(p.cache_layer) + ((size_t(block) * 2 + kv) * Hkv + kvh) * size_t(p.block_len) * D +
            size_t(offset) * D;
    }
    for (int i = lane, r = 0; i < half; i += 32, ++r) {
      float s, c;
      angle(i, r, s, c);
      const float x = b[i], y = b[i + half];
      dst[i] = from_float<T>(x * c - y * s);
      dst[i + half] = from_float<T>(y * c + x * s);
    }
    if (Vec && half == 0) {
      for (int c = lane; c < D / 8; c += 32) *reinterpret_cast<uint4*>(dst + 8 * c) = pack8<T>(b + 8 * c);
    } else {
      for (int d = 2 * half + lane; d < D; d += 32) dst[d] = from_float<T>(b[d]);
    }
    __syncwarp();
  }
}

}  // namespace

void launch_qkv_rope_store(const QkvRopeParams& p, const KernelLaunch& launch) {
  if (p.tokens == 0) return;
  if (p.head_dim > kMaxHeadDim) fail("cuda qkv_rope_store: head_dim {} over {}", p.head_dim, kMaxHeadDim);
  const int heads = p.num_heads + 2 * p.num_kv_heads;
  const dim3 grid(p.tokens, (heads + kWarps - 1) / kWarps);
  const bool vec = p.head_dim % 8 == 0 && aligned16({p.qkv, p.q_out, p.cache_layer});
  TURBINE_DISPATCH_HALF(p.dtype, {
    auto run = [&](auto format) {
      constexpr KvFormat F = decltype(format)::value;
      // A quantized cache keeps the per-value row loads: a second instance per format would add compile
      // time for a kernel that moves a few hundred bytes per head.
      if constexpr (F == KvFormat::Dense) {
        if (vec) return launch_pdl(qkv_rope_store_kernel<T, true, F>, grid, kWarps * 32, 0, launch, p);
      }
      launch_pdl(qkv_rope_store_kernel<T, false, F>, grid, kWarps * 32, 0, launch, p);
    };
    switch (p.kv_format) {
      case KvFormat::Dense: run(std::integral_constant<KvFormat, KvFormat::Dense>{}); break;
      case KvFormat::Int8: run(std::integral_constant<KvFormat, KvFormat::Int8>{}); break;
      case KvFormat::Int4: run(std::integral_constant<KvFormat, KvFormat::Int4>{}); break;
      case KvFormat::Fp8: run(std::integral_constant<KvFormat, KvFormat::Fp8>{}); break;
    }
  });
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace turbine::cuda
