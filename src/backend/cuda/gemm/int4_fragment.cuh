// The register-level pieces both 4-bit kernels share (int4_gemm.cu, int4_gemv.cu): a packed word's
// pair of 4-bit values dequantized into an mma A fragment register by the magic-number trick
// (int4_gemm.h has the layout), and the mma.sync m16n8k16 with fp32 accumulators.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

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

// Pair p (0..3) of `word` as two T values (q - zero) * scale; scale2 and zero2 hold the scale and
// the offset zero (magic + zero) in both halves.
template <typename T>
__device__ __forceinline__ uint32_t int4_dequant_pair(uint32_t word, int p, uint32_t scale2, uint32_t zero2) {
  using P = typename Int4Pair<T>::type;
  uint32_t h = ((word >> (4 * p)) & 0x000f000fu) | Int4Pair<T>::kMagic;
  P v = __hmul2(__hsub2(*reinterpret_cast<P*>(&h), *reinterpret_cast<P*>(&zero2)), *reinterpret_cast<P*>(&scale2));
  return *reinterpret_cast<uint32_t*>(&v);
}

template <typename T>
__device__ __forceinline__ void int4_mma_16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

}  // namespace turbine::cuda
