// The CPU backend's inner loops as a table of function pointers, one table per instruction set.
// The same source (cpu_kernels.inc) is compiled once per instruction set in its own translation unit
// (cpu_kernels_scalar.cpp, cpu_kernels_avx2.cpp, cpu_kernels_avx512.cpp, each with its own compiler
// flags), and the backend picks a table at construction from cpuid, so one binary runs on any x86-64
// machine and still uses AVX2 / AVX-512 where the processor has them.
#pragma once
#include <cstdint>

#include "backend/cpu_options.h"
#include "backend/kv_format.h"

namespace turbine::cpu {

// out[t * ldo + n] = sum_k x[t * K + k] * w[n * K + k] for t < T and n0 <= n < n1, accumulated in fp32.
// W is the weight element: fp32, or the 16 bits of a bf16 / fp16 value (widened to fp32 in registers).
template <typename W>
using LinearRowsFn = void (*)(const float* x, int64_t T, const W* w, int64_t n0, int64_t n1, int64_t K, float* out,
                              int64_t ldo);

// Up to kMaxAttendRows query rows of one sequence that read the same kv head's view of the sequence's
// keys and values in the paged cache (cpu_attention.cpp): consecutive new tokens of one query head
// (pos_step 1), or one token's query heads that share the kv head under GQA (pos_step 0), so that the
// rows share each cache row's read and, in a quantized cache, its dequantization. Row r is at position
// pos + r * pos_step; it attends positions lo_r..pos_r, lo_r = max(lo, pos_r - window + 1) with a
// sliding window (window > 0), else lo. Dense cache: the key of position j is at k + table[j /
// block_len] * block_stride + (j % block_len) * head_dim, its value v_offset floats further. A quantized
// cache (QuantizedKvRows) is read in place and dequantized a few positions at a time, or, for a lone
// row, read as codes with each row's scale and zero applied to the sums. Query and output rows are
// row_stride floats apart.
constexpr int kMaxAttendRows = 8;

// The widest row the kernel dequantizes (its run buffer holds at least one row).
constexpr int kQuantizedRunMaxHeadDim = 2048;

// One kv head's rows in a quantized cache (the layout in backend/kv_format.h): position j's key row is
// row k_row + j % block_len of block table[j / block_len], its value row v_row + j % block_len.
struct QuantizedKvRows {
  KvFormat format = KvFormat::Dense;  // Dense: the fp32 rows of AttendArgs
  const uint8_t* blocks = nullptr;    // the layer's block 0
  size_t block_bytes = 0, param_offset = 0;
  int64_t k_row = 0, v_row = 0;
  int element_bytes = 0, param_bytes = 0;
};

struct AttendArgs {
  const float* k;
  int64_t v_offset;
  const int32_t* table;
  int block_len;
  int64_t block_stride;
  int head_dim;
  int32_t lo, pos;  // row 0 attends lo..pos
  int32_t window;   // 0: none
  int rows;         // 1..kMaxAttendRows
  int pos_step;     // 1: rows are consecutive tokens; 0: rows are query heads of one token
  int64_t row_stride;
  float scale;
  QuantizedKvRows quantized;  // k, v_offset and block_stride unused when its format is not Dense
};

struct KernelTable {
  CpuIsa isa;
  LinearRowsFn<float> linear_f32;
  LinearRowsFn<uint16_t> linear_bf16;
  LinearRowsFn<uint16_t> linear_f16;
  // The many-token form: out[t * ldo + n] = sum_k xt[k * ldx + t] * w[n * K + k] for t < T, n < rows;
  // xt is x transposed ([K][ldx], ldx a multiple of 8, zero past T), w fp32 rows.
  void (*linear_tokens)(const float* xt, int64_t ldx, int64_t T, const float* w, int64_t rows, int64_t K, float* out,
                        int64_t ldo);
  // dst[c * ldx + t] = x[t * K + c] for t < tokens, k0 <= c < k1 (x rows of K floats): the transposition
  // linear_tokens reads.
  void (*transpose_tokens)(const float* x, int64_t K, int64_t tokens, int64_t k0, int64_t k1, float* dst,
                           int64_t ldx);
  // dst[i] = float(src[i]) for bf16 / fp16 src.
  void (*widen_bf16)(const uint16_t* src, float* dst, int64_t n);
  void (*widen_f16)(const uint16_t* src, float* dst, int64_t n);
  // For each row r of `a`: out_r[d] = sum_j softmax_j(scale * q_r . k_j) v_j over the positions row r
  // attends; scores: scratch for rows * (pos + rows - lo) floats.
  void (*attend)(const float* q, const AttendArgs& a, float* scores, float* out);
  // out[i] = silu(gate[i]) * up[i]. Both this and attend take e^x from a vector polynomial (about 1e-7
  // relative error) instead of std::exp.
  void (*silu_mul)(const float* gate, const float* up, float* out, int64_t n);
  // 4-bit weights in the CPU layout (cpu_int4_linear.cpp: K / 8 words per row, fp32 scale and offset per
  // row and group; group a multiple of 8). The few-token form: out[t * ldo + n] = sum_k x[t * K + k] *
  // w[n][k] for t < T, n0 <= n < n1, with xsum[t * (K / group) + g] the sum of x[t] over group g.
  void (*linear_int4)(const float* x, const float* xsum, int64_t T, const uint32_t* w, const float* scales,
                      const float* offsets, int64_t n0, int64_t n1, int64_t K, int group, float* out, int64_t ldo);
  // The same for groups (and so K) that are a multiple of 64, faster: x comes permuted and scaled by
  // int4_prepare_x (xp: [T][K], with the group sums xsum), so that the kernel masks nibbles in place
  // instead of shifting them.
  void (*int4_prepare_x)(const float* x, int64_t T, int64_t K, int group, float* xp, float* xsum);
  void (*linear_int4_masked)(const float* xp, const float* xsum, int64_t T, const uint32_t* w, const float* scales,
                             const float* offsets, int64_t n0, int64_t n1, int64_t K, int group, float* out,
                             int64_t ldo);
  // dst[r * K + k] = w[r][k] in fp32 for r < rows (the many-token form widens a block, then linear_tokens).
  void (*widen_int4)(const uint32_t* w, const float* scales, const float* offsets, int64_t rows, int64_t K, int group,
                     float* dst);
};

// The compiled copies; null where this build has none (non-x86 builds have only the scalar one). Call
// one only after cpu_has_isa said the processor has its instruction set.
const KernelTable* scalar_kernels();
const KernelTable* avx2_kernels();
const KernelTable* avx512_kernels();

// Whether this processor can run `isa` (Auto: always).
bool cpu_has_isa(CpuIsa isa);
// The widest instruction set this processor has and this build compiled.
CpuIsa best_cpu_isa();
// The table for `isa` (Auto: best_cpu_isa()); throws Error naming the flag when the processor or the
// build lacks it.
const KernelTable& kernels_for(CpuIsa isa);

}  // namespace turbine::cpu
