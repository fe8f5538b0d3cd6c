#include "backend/kv_quant.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/dtype.h"

namespace turbine {

namespace {

constexpr float kF16Max = 65504.0f;
constexpr float kFp8Max = 448.0f;

float to_f16_saturated(float x) { return f16_to_f32(f32_to_f16(std::clamp(x, -kF16Max, kF16Max))); }

// The smallest fp16 scale s (>= 0, saturated) with s * steps >= range, so the row's largest value needs
// no clamping.
float scale_for(float range, float steps) {
  const float want = std::min(range / steps, kF16Max);
  if (!(want > 0.0f)) return 0.0f;
  uint16_t h = f32_to_f16(want);
  if (f16_to_f32(h) * steps < range && f16_to_f32(h) < kF16Max) ++h;  // next fp16 up (positive values)
  return f16_to_f32(h);
}

// round((x - zero) * inv) clamped to 0..qmax; NaN gives 0.
int quantize_code(float x, float zero, float inv, int qmax) {
  const float v = std::nearbyint((x - zero) * inv);
  return v >= float(qmax) ? qmax : (v >= 0.0f ? int(v) : 0);
}

}  // namespace

uint8_t f32_to_fp8_e4m3(float x) {
  const uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
  const float a = std::fabs(x);
  if (std::isnan(a)) return uint8_t(sign | 0x7f);
  if (a >= kFp8Max) return uint8_t(sign | 0x7e);
  if (a < 0x1p-6f) {  // subnormal: steps of 2^-9 (8 steps reach the smallest normal, 0x08)
    return uint8_t(sign | int(std::nearbyint(a * 0x1p9f)));
  }
  int e = 0;
  const float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  int mant = int(std::nearbyint((m * 2.0f - 1.0f) * 8.0f));
  int exp = e - 1 + 7;
  if (mant == 8) mant = 0, ++exp;
  const int code = (exp << 3) | mant;
  return uint8_t(sign | std::min(code, 0x7e));
}

namespace {

// Every e4m3 code's value, made once (the decode runs for each cached value attention reads).
const std::array<float, 256>& fp8_e4m3_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int b = 0; b < 256; ++b) {
      const int exp = (b >> 3) & 15, mant = b & 7;
      float a;
      if (exp == 15 && mant == 7)
        a = std::nanf("");
      else if (exp == 0)
        a = std::ldexp(float(mant), -9);
      else
        a = std::ldexp(1.0f + float(mant) / 8.0f, exp - 7);
      t[size_t(b)] = (b & 0x80) ? -a : a;
    }
    return t;
  }();
  return table;
}

}  // namespace

float fp8_e4m3_to_f32(uint8_t b) { return fp8_e4m3_table()[b]; }

void kv_quantize_row(KvFormat f, const float* x, int head_dim, uint8_t* elements, uint16_t* params) {
  if (f == KvFormat::Fp8) {
    float amax = 0.0f;
    for (int d = 0; d < head_dim; ++d) amax = std::max(amax, std::fabs(x[d]));  // NaN is skipped
    const float scale = scale_for(amax, kFp8Max);
    const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
    for (int d = 0; d < head_dim; ++d) elements[d] = f32_to_fp8_e4m3(x[d] * inv);
    params[0] = f32_to_f16(scale);
    return;
  }
  float lo = x[0], hi = x[0];
  for (int d = 1; d < head_dim; ++d) lo = std::min(lo, x[d]), hi = std::max(hi, x[d]);
  const int qmax = f == KvFormat::Int8 ? 255 : 15;
  const float scale = scale_for(hi - lo, float(qmax));
  const float zero = to_f16_saturated(lo);
  const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
  if (f == KvFormat::Int8) {
    for (int d = 0; d < head_dim; ++d) elements[d] = uint8_t(quantize_code(x[d], zero, inv, qmax));
  } else {
    for (int d = 0; d < head_dim; d += 2)
      elements[d / 2] = uint8_t(quantize_code(x[d], zero, inv, qmax) | (quantize_code(x[d + 1], zero, inv, qmax) << 4));
  }
  params[0] = f32_to_f16(scale);
  params[1] = f32_to_f16(zero);
}

void kv_dequantize_row(KvFormat f, const uint8_t* elements, const uint16_t* params, int head_dim, float* x) {
  const float scale = f16_to_f32(params[0]);
  switch (f) {
    case KvFormat::Fp8: {
      const std::array<float, 256>& table = fp8_e4m3_table();
      for (int d = 0; d < head_dim; ++d) x[d] = table[elements[d]] * scale;
      return;
    }
    case KvFormat::Int8: {
      const float zero = f16_to_f32(params[1]);
      for (int d = 0; d < head_dim; ++d) x[d] = float(elements[d]) * scale + zero;
      return;
    }
    case KvFormat::Int4: {
      const float zero = f16_to_f32(params[1]);
      for (int d = 0; d < head_dim; d += 2) {
        x[d] = float(elements[d / 2] & 15) * scale + zero;
        x[d + 1] = float(elements[d / 2] >> 4) * scale + zero;
      }
      return;
    }
    case KvFormat::Dense: return;
  }
}

}  // namespace turbine
