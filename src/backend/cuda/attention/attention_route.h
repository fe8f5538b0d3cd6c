// Which attention kernels take one batch (attention_dispatch.cpp): decode tokens on the decode kernel
// (paged_decode.cu) where it serves the shape, in any KV format; prefill tiles on the flash kernel
// (flash_prefill.cu) with a dense cache (a quantized one too when asked: flash_quantized) whose tiles
// fit the device's shared memory, else on the general
// kernel (paged_attention.cu), which then skips the decode tokens; everything on the general kernel
// when the decode kernel cannot take the decode tokens or the general kernel is forced. Plain C++ (no
// CUDA), so that the choice is tested on any machine.
#pragma once
#include "backend/kv_format.h"

namespace turbine::cuda {

// The most query heads per KV head the decode kernel serves (its per-lane query registers).
constexpr int kDecodeMaxGroup = 8;

// Whether the decode kernel is instanced for this shape: head_dim 64 or 128, up to kDecodeMaxGroup
// query heads per KV head; every KvFormat.
inline bool decode_kernel_fits(int head_dim, int num_heads, int num_kv_heads) {
  return (head_dim == 64 || head_dim == 128) && num_kv_heads > 0 && num_heads % num_kv_heads == 0 &&
         num_heads / num_kv_heads <= kDecodeMaxGroup;
}

// What the route depends on, from PagedAttentionParams and the device.
struct AttentionBatchFacts {
  int head_dim = 0, num_heads = 0, num_kv_heads = 0;
  int num_decode = 0, num_prefill_tiles = 0;  // AttentionWork's lists
  KvFormat kv_format = KvFormat::Dense;
  bool flash_fits = false;     // the flash kernel serves this head_dim and its tiles fit the device
  bool force_general = false;  // CudaOptions::general_attention
  bool flash_quantized = false;  // CudaOptions::flash_quantized_kv: the flash kernel on a quantized cache
};

struct AttentionRoute {
  bool decode = false;   // the decode kernel, on the decode tokens
  bool flash = false;    // the flash kernel, on the prefill tiles
  bool general = false;  // the general kernel: every sequence, or with `decode` the prefill ones only
  bool general_skips_decode() const { return general && decode; }
};

inline AttentionRoute route_attention(const AttentionBatchFacts& f) {
  AttentionRoute r;
  const bool decode_ok = !f.force_general && decode_kernel_fits(f.head_dim, f.num_heads, f.num_kv_heads);
  if (f.num_decode > 0 && !decode_ok) {
    r.general = true;
    return r;
  }
  r.decode = f.num_decode > 0;
  if (f.num_prefill_tiles > 0) {
    // The flash kernel reads a quantized cache only where asked.
    if (!f.force_general && (f.kv_format == KvFormat::Dense || f.flash_quantized) && f.flash_fits)
      r.flash = true;
    else
      r.general = true;
  }
  return r;
}

}  // namespace turbine::cuda
