// Element types and the scalar conversions between them (round-to-nearest-even, like PyTorch).
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>

namespace turbine {

enum class DType : uint8_t { F32, F16, BF16, I32 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I32: return 4;
  }
  return 0;
}

std::string_view dtype_name(DType t);
// "float32"/"fp32"/"F32", "float16"/"fp16"/"F16", "bfloat16"/"bf16"/"BF16"; throws Error otherwise.
DType parse_dtype(std::string_view name);

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Converts n elements of `src` (of type `from`) to fp32.
void convert_to_f32(const void* src, DType from, float* dst, size_t n);
// Converts n fp32 elements to `to` (F32, F16 or BF16).
void convert_from_f32(const float* src, DType to, void* dst, size_t n);

}  // namespace turbine
