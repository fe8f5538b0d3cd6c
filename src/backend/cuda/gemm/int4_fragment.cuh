// The register-level pieces the 4-bit kernels share (int4_gemm.cu, int4_gemv.cu, int4_tiled_gemm.cu,
// int4_dequantize.cu): a packed word's pair of 4-bit values dequantized into an mma A fragment register
// by the magic-number trick (int4_gemm.h has the layout), the mask-and-or that trick takes as one
// instruction, a half chunk's products and its token tiles' B fragments for a lane, and the epilogue's
// store of one output value.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/mma.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/int4_gemm.h"

namespace turbine::cuda {

template <typename T>
struct Int4Pair;
template <>
struct Int4Pair<__half> {
  using type = __half2;
  static constexpr uint32_t kMagic = 0x64006400u;  // 1024 in both halves
};
template <>
struct Int4Pair<__nv_bfloat16> {
  using type = __nv_bfloat162;
  static constexpr uint32_t kMagic = 0x43004300u;  // 128 in both halves
};

// (w & Mask) | Bits as one lop3.b32 (truth table 0xEA: (a & b) | c). Written in C++, ptxas makes two
// LOP3 of it, one per constant; the code fragments are most of the 4-bit kernels' arithmetic.
template <uint32_t Mask, uint32_t Bits>
__device__ __forceinline__ uint32_t and_or(uint32_t w) {
  uint32_t d;
  asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(d) : "r"(w), "n"(Mask), "n"(Bits));
  return d;
}

// Pair p (0..3) of `word` as two T values q - zero (exact); zero2 holds the offset zero (magic + zero)
// in both halves.
template <typename T>
__device__ __forceinline__ uint32_t int4_offset_pair(uint32_t word, int p, uint32_t zero2) {
  using P = typename Int4Pair<T>::type;
  uint32_t h = and_or<0x000f000fu, Int4Pair<T>::kMagic>(word >> (4 * p));
  P v = __hsub2(*reinterpret_cast<P*>(&h), *reinterpret_cast<P*>(&zero2));
  return *reinterpret_cast<uint32_t*>(&v);
}

// The same pair as two T values (q - zero) * scale; scale2 holds the scale in both halves.
template <typename T>
__device__ __forceinline__ uint32_t int4_dequant_pair(uint32_t word, int p, uint32_t scale2, uint32_t zero2) {
  using P = typename Int4Pair<T>::type;
  uint32_t d = int4_offset_pair<T>(word, p, zero2);
  P v = __hmul2(*reinterpret_cast<P*>(&d), *reinterpret_cast<P*>(&scale2));
  return *reinterpret_cast<uint32_t*>(&v);
}

// A half chunk (32 columns) of one 16-row strip as the A fragments of its two 16-column subtiles:
// `words` are the lane's two packed words of the half (words 2h and 2h + 1 of the chunk), scale_g /
// scale_g8 the scale words of its rows g and g + 8 for this half (the scale in the low half, magic +
// zero in the high half).
template <typename T>
__device__ __forceinline__ void int4_half_chunk_fragments(uint2 words, uint32_t scale_g, uint32_t scale_g8,
                                                          uint32_t (&frag)[2][4]) {
  // Rows g (pairs 0, 2) and g + 8 (pairs 1, 3): the scale and the offset zero in both halves.
  const uint32_t s_lo = __byte_perm(scale_g, 0, 0x1010), z_lo = __byte_perm(scale_g, 0, 0x3232);
  const uint32_t s_hi = __byte_perm(scale_g8, 0, 0x1010), z_hi = __byte_perm(scale_g8, 0, 0x3232);
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const uint32_t word = s == 0 ? words.x : words.y;
    frag[s][0] = int4_dequant_pair<T>(word, 0, s_lo, z_lo);
    frag[s][1] = int4_dequant_pair<T>(word, 1, s_hi, z_hi);
    frag[s][2] = int4_dequant_pair<T>(word, 2, s_lo, z_lo);
    frag[s][3] = int4_dequant_pair<T>(word, 3, s_hi, z_hi);
  }
}

// Half chunk h's products against NT token tiles: `words4` are the lane's four packed words of the
// chunk, b[j] token tile j's B fragments of the half (the lane's 8 activations, int4_gemm.h's k order).
template <typename T, int NT>
__device__ __forceinline__ void int4_half_chunk_mma(float (&acc)[NT][4], const uint4& words4, int h, uint32_t scale_g,
                                                    uint32_t scale_g8, const uint4 (&b)[NT]) {
  uint32_t frag[2][4];
  int4_half_chunk_fragments<T>(h == 0 ? make_uint2(words4.x, words4.y) : make_uint2(words4.z, words4.w), scale_g,
                               scale_g8, frag);
#pragma unroll
  for (int s = 0; s < 2; ++s)
#pragma unroll
    for (int j = 0; j < NT; ++j) {
      const uint32_t* bw = reinterpret_cast<const uint32_t*>(&b[j]);
      mma_m16n8k16<T>(acc[j], frag[s], bw[2 * s], bw[2 * s + 1]);
    }
}

// The B fragments of a half chunk starting at column `col` for NT token tiles: lane (g, t) supplies
// token tok0 + 8 j + g's activations col + 8 t .. col + 8 t + 7 (one 16-byte load), zero past `tokens`.
template <typename T, int NT>
__device__ __forceinline__ void load_token_fragments(const T* x, int k, int tokens, int tok0, int col, int g, int t,
                                                     uint4 (&b)[NT]) {
#pragma unroll
  for (int j = 0; j < NT; ++j) {
    const int tok = tok0 + 8 * j + g;
    b[j] = tok < tokens ? load_after_wait(x + size_t(tok) * k + col + 8 * t)
                        : make_uint4(0, 0, 0, 0);
  }
}

// out[tok][row] = v plus the bias, as linear's output then bias_add would give it: in the compute
// dtype, rounded to it before and after the bias; fp32 output adds the bias unrounded.
template <typename T>
__device__ __forceinline__ void int4_store_output(const Int4GemmArgs& a, int row, int tok, float v) {
  const T* bias = static_cast<const T*>(a.bias);
  const size_t at = size_t(tok) * int(a.layout.n) + row;
  if (a.out_dtype == DType::F32) {
    if (bias) v += to_float(bias[row]);
    static_cast<float*>(a.out)[at] = v;
  } else {
    if (bias) v = to_float(from_float<T>(v)) + to_float(bias[row]);
    static_cast<T*>(a.out)[at] = from_float<T>(v);
  }
}

}  // namespace turbine::cuda
