// The arithmetic of one quantized KV row (one token of one kv head, head_dim values), the reference
// the CPU backend uses and the CUDA kernels mirror (attention/kv_quant.cuh):
//   Int8 / Int4: asymmetric, unsigned codes q in 0..qmax (255 / 15), x = q * scale + zero with
//     scale = (max - min) / qmax rounded up to fp16 (so q = qmax reaches the maximum) and zero = min
//     rounded to fp16 (LMDeploy's convention: the zero point is the row's minimum in x's units, so a
//     constant row is exact up to fp16 rounding); q = clamp(round_half_even((x - zero) * (1 / scale)),
//     0, qmax) with the fp16 scale (0 for a constant row: every q is 0).
//   Fp8: e4m3 (OCP "fn": no infinities, largest 448), x = fp8(x * (1 / scale)) * scale with
//     scale = amax / 448 rounded up to fp16; values past 448 saturate.
// Scale and zero saturate at fp16's largest finite value. A NaN input gives q = 0 (int) or NaN (fp8).
#pragma once
#include <cstdint>

#include "backend/kv_format.h"

namespace turbine {

// e4m3 (fn) <-> fp32: round to nearest even, saturating at +-448; NaN stays NaN (0x7f / 0xff).
uint8_t f32_to_fp8_e4m3(float x);
float fp8_e4m3_to_f32(uint8_t b);

// Quantizes x[0..head_dim) into `elements` (kv_row_element_bytes(f, head_dim, ...) bytes) and `params`
// (kv_row_param_bytes(f) bytes: fp16 scale, then zero for the integer formats). f must not be Dense;
// head_dim must be even for Int4.
void kv_quantize_row(KvFormat f, const float* x, int head_dim, uint8_t* elements, uint16_t* params);
// The inverse: x[d] = the value row d stands for.
void kv_dequantize_row(KvFormat f, const uint8_t* elements, const uint16_t* params, int head_dim, float* x);

}  // namespace turbine
