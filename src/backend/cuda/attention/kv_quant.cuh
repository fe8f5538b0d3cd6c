// The device side of backend/kv_quant.h: a warp quantizes one KV row (in shared memory, fp32) into a
// quantized cache, and attention kernels dequantize 8 values of a row at a time. The arithmetic is
// the host reference's (same fp16 scale and zero, same round-half-even codes), so codes agree with the
// CPU backend's up to the last bit of the values fed in.
#pragma once
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstdint>

#include "backend/cuda/common/device_math.cuh"
#include "backend/kv_format.h"

namespace turbine::cuda {

// Where a quantized cache keeps the rows of one layer (backend/kv_format.h).
struct QuantKvLayout {
  size_t block_bytes = 0, param_offset = 0;
  int block_len = 0, num_kv_heads = 0, element_bytes = 0, param_bytes = 0;

  __device__ __forceinline__ size_t row(int kv, int kvh, int offset) const {
    return (size_t(kv) * num_kv_heads + kvh) * block_len + offset;
  }
  __device__ __forceinline__ uint8_t* elements(void* layer, int block, int kv, int kvh, int offset) const {
    return static_cast<uint8_t*>(layer) + size_t(block) * block_bytes + row(kv, kvh, offset) * element_bytes;
  }
  __device__ __forceinline__ uint8_t* params(void* layer, int block, int kv, int kvh, int offset) const {
    return static_cast<uint8_t*>(layer) + size_t(block) * block_bytes + param_offset +
           row(kv, kvh, offset) * param_bytes;
  }
};

// Bytes of a row's values and of its parameters (kv_row_element_bytes / kv_row_param_bytes).
template <KvFormat F>
__host__ __device__ constexpr int kv_element_bytes(int head_dim) {
  return F == KvFormat::Int4 ? head_dim / 2 : head_dim;
}
template <KvFormat F>
__device__ __forceinline__ int kv_param_bytes() {
  return F == KvFormat::Fp8 ? 2 : 4;
}

__device__ __forceinline__ float warp_min(float v) { return -warp_max(-v); }

// The smallest fp16 scale s >= range / steps (saturated at 65504), 0 for an empty range.
__device__ __forceinline__ float kv_scale_for(float range, float steps) {
  const float want = fminf(range / steps, 65504.0f);
  if (!(want > 0.0f)) return 0.0f;
  __half h = __float2half_rn(want);
  if (__half2float(h) * steps < range && __half2float(h) < 65504.0f) h = __ushort_as_half(__half_as_ushort(h) + 1);
  return __half2float(h);
}

__device__ __forceinline__ int kv_code(float x, float zero, float inv, int qmax) {
  const float v = rintf(__fmul_rn(__fsub_rn(x, zero), inv));
  return v >= float(qmax) ? qmax : (v >= 0.0f ? int(v) : 0);
}

// The warp writes row x[0..D) (shared memory, every lane sees it) as format F at `elements`/`params`.
template <KvFormat F>
__device__ void warp_quantize_row(const float* x, int D, uint8_t* elements, uint8_t* params, int lane) {
  __half* par = reinterpret_cast<__half*>(params);
  if constexpr (F == KvFormat::Fp8) {
    float amax = 0.0f;
    for (int d = lane; d < D; d += 32) amax = fmaxf(amax, fabsf(x[d]));
    amax = warp_max(amax);
    const float scale = kv_scale_for(amax, 448.0f);
    const float inv = scale > 0.0f ? __frcp_rn(scale) : 0.0f;
    for (int d = lane; d < D; d += 32)
      elements[d] = __nv_cvt_float_to_fp8(__fmul_rn(x[d], inv), __NV_SATFINITE, __NV_E4M3);
    if (lane == 0) par[0] = __float2half_rn(scale);
  } else {
    float lo = 3.4e38f, hi = -3.4e38f;
    for (int d = lane; d < D; d += 32) lo = fminf(lo, x[d]), hi = fmaxf(hi, x[d]);
    lo = warp_min(lo);
    hi = warp_max(hi);
    constexpr int qmax = F == KvFormat::Int8 ? 255 : 15;
    const float scale = kv_scale_for(__fsub_rn(hi, lo), float(qmax));
    const float zero = __half2float(__float2half_rn(fminf(fmaxf(lo, -65504.0f), 65504.0f)));
    const float inv = scale > 0.0f ? __frcp_rn(scale) : 0.0f;
    if constexpr (F == KvFormat::Int8) {
      for (int d = lane; d < D; d += 32) elements[d] = uint8_t(kv_code(x[d], zero, inv, qmax));
    } else {
      for (int i = lane; i < D / 2; i += 32)
        elements[i] = uint8_t(kv_code(x[2 * i], zero, inv, qmax) | (kv_code(x[2 * i + 1], zero, inv, qmax) << 4));
    }
    if (lane == 0) par[0] = __float2half_rn(scale), par[1] = __float2half_rn(zero);
  }
}

// An unsigned code (0..255) as fp32 without a conversion instruction: the code as the low mantissa bits
// of 2^23 is the float 2^23 + code, and subtracting 2^23 is exact. Integer and add units issue far more
// often than conversions, and the decode kernel converts 16 codes per lane per key.
__device__ __forceinline__ float kv_code_to_float(uint32_t magic_bits) {
  return __uint_as_float(magic_bits) - 8388608.0f;
}

// 8 consecutive codes of a quantized row as fp32, before the row's scale and zero: int8 / int4 the
// unsigned codes, fp8 the e4m3 values. `raw` holds their bytes (int8 / fp8: .x and .y; int4: .x, value
// e in nibble e). A value is scale * code + zero (fp8: scale * code), so a dot product with a row can
// take scale and zero out of its sum (the decode kernel does).
template <KvFormat F>
__device__ __forceinline__ void kv_codes8(const uint4& raw, float* out) {
  // Bytes (code, 0, 0, 0x4B) are the float 2^23 + code: selectors b, 4, 4, 7 take byte b of the word.
  constexpr uint32_t kMagic = 0x4B000000u;
  if constexpr (F == KvFormat::Int4) {
    // Even values' nibbles in the bytes of one word, odd values' in another: one byte permute a value.
    const uint32_t even = raw.x & 0x0f0f0f0fu, odd = (raw.x >> 4) & 0x0f0f0f0fu;
#pragma unroll
    for (int e = 0; e < 8; e += 2) {
      out[e] = kv_code_to_float(__byte_perm(even, kMagic, 0x7440u | uint32_t(e / 2)));
      out[e + 1] = kv_code_to_float(__byte_perm(odd, kMagic, 0x7440u | uint32_t(e / 2)));
    }
  } else if constexpr (F == KvFormat::Int8) {
    const uint32_t w[2] = {raw.x, raw.y};
#pragma unroll
    for (int e = 0; e < 8; ++e) out[e] = kv_code_to_float(__byte_perm(w[e / 4], kMagic, 0x7440u | uint32_t(e % 4)));
  } else {
    const uint32_t w[2] = {raw.x, raw.y};
#pragma unroll
    for (int e = 0; e < 8; e += 2) {  // two e4m3 codes per conversion, the lower byte into .x
      const __half2_raw h =
          __nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t((w[e / 4] >> (8 * (e % 4))) & 0xffffu), __NV_E4M3);
      const float2 f = __half22float2(__half2(h));
      out[e] = f.x;
      out[e + 1] = f.y;
    }
  }
}

// 8 consecutive values of a quantized row (kv_codes8's `raw`), with the row's `scale` and `zero`
// (zero unused for fp8).
template <KvFormat F>
__device__ __forceinline__ void dequant8(const uint4& raw, float scale, float zero, float* out) {
  kv_codes8<F>(raw, out);
#pragma unroll
  for (int e = 0; e < 8; ++e) out[e] = F == KvFormat::Fp8 ? out[e] * scale : out[e] * scale + zero;
}

// Loads the bytes of 8 values starting at value d0 of a row.
template <KvFormat F>
__device__ __forceinline__ uint4 load8_quantized(const uint8_t* row, int d0) {
  uint4 r = make_uint4(0, 0, 0, 0);
  if constexpr (F == KvFormat::Int4) {
    r.x = *reinterpret_cast<const uint32_t*>(row + d0 / 2);
  } else {
    const uint2 v = *reinterpret_cast<const uint2*>(row + d0);
    r.x = v.x, r.y = v.y;
  }
  return r;
}

// A row's (scale, zero).
template <KvFormat F>
__device__ __forceinline__ float2 load_kv_params(const uint8_t* params) {
  const __half* h = reinterpret_cast<const __half*>(params);
  return make_float2(__half2float(h[0]), F == KvFormat::Fp8 ? 0.0f : __half2float(h[1]));
}

// The decode kernel's loads of a row's 8 values and of its parameter word. Rows of earlier tokens are
// read once, bypassing L1 (like load_stream). `fresh` (the row of this step's token, which the previous
// kernel wrote) reads from L2 (ld.global.cg): quantized rows and parameters share 32-byte sectors with
// their neighbours, which may have been loaded before pdl_wait(), and L1 is not coherent with that write.
template <KvFormat F>
__device__ __forceinline__ uint4 load8_quantized_stream(const uint8_t* row, int d0, bool fresh) {
  uint4 r = make_uint4(0, 0, 0, 0);
  if constexpr (F == KvFormat::Int4) {
    const uint32_t* at = reinterpret_cast<const uint32_t*>(row + d0 / 2);
    if (fresh)
      r.x = __ldcg(at);
    else
      asm volatile("ld.global.nc.L1::no_allocate.u32 %0, [%1];" : "=r"(r.x) : "l"(at));
  } else {
    const uint2* at = reinterpret_cast<const uint2*>(row + d0);
    if (fresh) {
      const uint2 v = __ldcg(at);
      r.x = v.x, r.y = v.y;
    } else {
      asm volatile("ld.global.nc.L1::no_allocate.v2.u32 {%0, %1}, [%2];" : "=r"(r.x), "=r"(r.y) : "l"(at));
    }
  }
  return r;
}

// A row's parameters as one word: fp16 scale in the low half, fp16 zero in the high half (fp8: the
// scale alone, the high half 0); kv_params_of unpacks it. `fresh` as for load8_quantized_stream.
template <KvFormat F>
__device__ __forceinline__ uint32_t load_kv_param_word_stream(const uint8_t* params, bool fresh) {
  if constexpr (F == KvFormat::Fp8) {
    const unsigned short* at = reinterpret_cast<const unsigned short*>(params);
    unsigned short h;
    if (fresh)
      h = __ldcg(at);
    else
      asm volatile("ld.global.nc.L1::no_allocate.u16 %0, [%1];" : "=h"(h) : "l"(at));
    return h;
  } else {
    const unsigned int* at = reinterpret_cast<const unsigned int*>(params);
    unsigned int w;
    if (fresh)
      w = __ldcg(at);
    else
      asm volatile("ld.global.nc.L1::no_allocate.u32 %0, [%1];" : "=r"(w) : "l"(at));
    return w;
  }
}

__device__ __forceinline__ float2 kv_params_of(uint32_t word) {
  return make_float2(__half2float(__ushort_as_half(uint16_t(word & 0xffffu))),
                     __half2float(__ushort_as_half(uint16_t(word >> 16))));
}

}  // namespace turbine::cuda
