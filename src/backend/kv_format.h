// How the paged KV cache stores a key or value row (one token of one kv head): Dense keeps the compute
// dtype; Int8 / Int4 / Fp8 keep a quantized row plus its parameters (LMDeploy's quant_policy 8 / 4 and
// vLLM's --kv-cache-dtype fp8). The arithmetic of one row is in backend/kv_quant.h.
//
// A quantized block of one layer holds, in this order:
//   elements   [k=0|v=1][kv_head][block_len][kv_row_element_bytes]  (int8 / fp8: 1 byte a value,
//              int4: two values a byte, the lower dimension in the low nibble)
//   parameters [k=0|v=1][kv_head][block_len][kv_row_param_bytes]    (int8 / int4: fp16 scale, fp16
//              zero; fp8: fp16 scale)
// and is padded to a multiple of 16 bytes, so every block starts aligned for vector loads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/dtype.h"

namespace turbine {

enum class KvFormat : uint8_t { Dense, Int8, Int4, Fp8 };

// "none", "int8", "int4", "fp8": the --kv-quant values.
std::string_view kv_format_name(KvFormat f);
// The inverse of kv_format_name; throws Error naming `flag` (when not empty) on anything else.
KvFormat parse_kv_format(std::string_view text, std::string_view flag = "--kv-quant");

// Bytes of one row's elements (dense: head_dim values of `dense`).
constexpr size_t kv_row_element_bytes(KvFormat f, int head_dim, DType dense) {
  switch (f) {
    case KvFormat::Dense: return size_t(head_dim) * dtype_size(dense);
    case KvFormat::Int8:
    case KvFormat::Fp8: return size_t(head_dim);
    case KvFormat::Int4: return size_t(head_dim) / 2;
  }
  return 0;
}

// Bytes of one row's quantization parameters (none for Dense).
constexpr size_t kv_row_param_bytes(KvFormat f) {
  switch (f) {
    case KvFormat::Dense: return 0;
    case KvFormat::Int8:
    case KvFormat::Int4: return 4;
    case KvFormat::Fp8: return 2;
  }
  return 0;
}

// The head_dim a quantized format needs a multiple of (rows stay 4-byte aligned); 1 for Dense.
constexpr int kv_head_dim_multiple(KvFormat f) { return f == KvFormat::Dense ? 1 : 8; }

}  // namespace turbine
