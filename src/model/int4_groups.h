// Group-wise asymmetric 4-bit quantization of a matrix's rows (the arithmetic AWQ and plain
// round-to-nearest share): per row and group of `group_size` columns, scale = (max - min) / 15 stored
// as fp16, zero = round(-min / scale) in 0..15, q = clamp(round(w / scale) + zero, 0, 15).
#pragma once
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "backend/backend.h"

namespace turbine {

// One group's quantization: the fp16 scale (as bits and as the float it stands for) and the zero point.
struct Int4Group {
  uint16_t scale_bits = 0;
  float scale = 0.0f;
  float zero = 0.0f;
  // The 4-bit value of v (already clamped to the group's limit) as a float: clamp(round(v / scale) +
  // zero, 0, 15), rounding half to even as std::nearbyint does. Adding and taking away 1.5 * 2^23
  // rounds so for |x| < 2^22; a larger quotient lands on 0 or 15 after the clamp either way (zero is
  // 0..15). Inline and without a library call, so the searches' loops over a group vectorize.
  float qf(float v) const {
    constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
    const float x = v / scale;
    return std::clamp((x + kRound) - kRound + zero, 0.0f, 15.0f);
  }
  uint8_t q(float v) const { return uint8_t(qf(v)); }
};
// The scale and zero of values whose clamped range is [lo, hi].
Int4Group int4_group_of_range(float lo, float hi);
// The scale and zero of `count` values clamped to [-limit, limit] (limit INFINITY: no clipping).
Int4Group int4_group(const float* w, int count, float limit);

// An n x k matrix in groups of group_size columns with its codes, zeros and scales sized (all 0).
// group_size must divide k (Error otherwise, naming both).
HostInt4Matrix sized_int4(int64_t n, int64_t k, int group_size);

// Quantizes w [n][k] (fp32, row-major). `clip`, when not empty, holds one value per (row, group)
// ([n][k / group_size]): the group's weights are first clamped to [-clip, clip] (AWQ's clipping).
// group_size must divide k (Error otherwise).
HostInt4Matrix quantize_int4(std::span<const float> w, int64_t n, int64_t k, int group_size,
                             std::span<const float> clip = {});

// w[r][c] = (q - zero) * scale in fp32, [n][k] row-major.
std::vector<float> dequantize_int4(const HostInt4Matrix& m);

// Rows of several matrices of the same k and group size stacked into one (fused q|k|v, gate|up).
HostInt4Matrix stack_int4_rows(const std::vector<HostInt4Matrix>& parts);

// Error unless the matrix's sizes agree with its vectors and every value is in 0..15.
void check_int4(const HostInt4Matrix& m, const char* what);

}  // namespace turbine
