// What a GEMM epilogue needs to do qkv_rope_store's work itself (one token; a dense cache, no per-head
// q/k norms): RoPE of a rotation pair, and where each qkv row's value goes. The skinny GEMM and the
// 4-bit GEMV end the qkv projection with these; qkv_rope_store.cu is the op they stand in for.
#pragma once
#include "backend/cuda/attention/qkv_rope_store.h"

namespace turbine::cuda {

// Rotates (x, y), dims f and f + rotary_dim / 2 of a q or k head, to token t's position.
__device__ __forceinline__ void rope_rotate(const QkvRopeParams& p, int t, int f, float& x, float& y) {
  float s, c;
  sincosf(float(p.positions[t]) * p.inv_freq[f], &s, &c);
  c *= p.attention_factor;
  s *= p.attention_factor;
  const float xr = x * c - y * s, yr = y * c + x * s;
  x = xr;
  y = yr;
}

// Where head `head` of the qkv row (q heads, then k, then v) of token t goes: its row of q_out or its
// slot in the layer's cache; null for the k and v of a padding row of a recorded decode step (no slot).
template <typename T>
__device__ __forceinline__ T* qkv_head_destination(const QkvRopeParams& p, int head, int t) {
  const int D = p.head_dim, Hq = p.num_heads, Hkv = p.num_kv_heads;
  if (head < Hq) return static_cast<T*>(p.q_out) + (size_t(t) * Hq + head) * D;
  const int slot = p.slot_mapping[t];
  if (slot < 0) return nullptr;
  const int kv = head >= Hq + Hkv ? 1 : 0, kvh = head - Hq - kv * Hkv;
  const int block = slot / p.block_len, offset = slot % p.block_len;
  return static_cast<T*>(p.cache_layer) + ((size_t(block) * 2 + kv) * Hkv + kvh) * size_t(p.block_len) * D +
         size_t(offset) * D;
}

}  // namespace turbine::cuda
