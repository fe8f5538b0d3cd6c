// Launchers of the CUDA kernels, one per op (each defined in its own <op>.cu). They take raw
// device pointers and a stream so the .cu files stay free of Tensor/Backend plumbing.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "backend/cuda/qkv_rope_store.h"
#include "core/dtype.h"

namespace turbine::cuda {

// convert.cu: dst[i] = (to) src[i] for F32/F16/BF16 in either direction.
void launch_convert(const void* src, DType from, void* dst, DType to, size_t n, cudaStream_t stream);

// gather_rows.cu: dst[r] = src[rows[r]] for byte rows; rows outside [0, src_rows) give zeros.
// Serves both embedding lookup and the logits-row gather.
void launch_gather_rows(const void* src, const int32_t* rows, void* dst, int num_rows, size_t row_bytes,
                        int src_rows, cudaStream_t stream);

// rms_norm.cu: out = x / rms(x) * w per row. With `residual`: residual += x first, and the
// normalised value is the updated residual.
void launch_rms_norm(const void* x, const void* weight, void* out, int rows, int cols, float eps, DType dtype,
                     cudaStream_t stream);
void launch_add_rms_norm(void* residual, const void* x, const void* weight, void* out, int rows, int cols,
                         float eps, DType dtype, cudaStream_t stream);

// silu_mul.cu: out[t, i] = silu(gate_up[t, i]) * gate_up[t, I + i].
void launch_silu_mul(const void* gate_up, void* out, int tokens, int inter, DType dtype, cudaStream_t stream);

// bias_add.cu: out[t, n] += bias[n] (out in `out_dtype`, bias in `bias_dtype`).
void launch_bias_add(void* out, DType out_dtype, const void* bias, DType bias_dtype, int rows, int cols,
                     cudaStream_t stream);

// skinny_gemm.cu: out[T, N] = x[T, K] @ w[N, K]^T (+ bias) for 1 <= T <= kSkinnyGemmMaxTokens (decode
// steps of one or two sequences). At one token it can also compute x from the op before
// (SkinnyInput) and, for the qkv projection, end with qkv_rope_store's work instead of writing
// `out` (`rope` non-null, without per-head q/k norms; its `qkv` is unused).
// Returns false (nothing launched) for what it does not take: K not a multiple of 8, unaligned
// pointers, an output dtype other than fp32 or the input's (the input's only when fused).
constexpr int kSkinnyGemmMaxTokens = 2;
enum class SkinnyInput {
  Plain,       // x
  AddRmsNorm,  // rms_norm(x + delta) with norm_weight; x + delta also written to residual_out
};
struct SkinnyGemmArgs {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;  // [N] in the input dtype, or null
  void* out = nullptr;
  DType in_dtype = DType::BF16, out_dtype = DType::BF16;
  int tokens = 0, n = 0, k = 0;
  SkinnyInput input = SkinnyInput::Plain;
  const void* delta = nullptr;        // AddRmsNorm: [T, K] or null (then x is normalised as it is)
  const void* norm_weight = nullptr;  // AddRmsNorm: [K]
  void* residual_out = nullptr;       // AddRmsNorm with delta: [T, K], not x's buffer
  float eps = 0.0f;
};
bool launch_skinny_gemm(const SkinnyGemmArgs& args, const QkvRopeParams* rope, cudaStream_t stream);

// wgmma_gemm.cu: out[T, N] = x[T, K] @ w[N, K]^T for T up to kWgmmaGemmMaxTokens on Hopper (TMA
// + wgmma, K split evenly over one block per SM). init_wgmma_gemm() prepares a device and says
// whether it can run it (compute capability 9.0 and a driver with tensor maps); plan_wgmma_gemm()
// sizes a launch (grid 0: not taken: K not a multiple of 8, too many tokens). The launch needs the
// plan's float workspace and `tiles` counters that start at zero (it leaves them zero); it returns
// false (nothing launched) for unaligned pointers or an output dtype other than fp32 or the input's.
constexpr int kWgmmaGemmMaxTokens = 48;
struct WgmmaGemmPlan {
  int grid = 0;
  int tiles = 0;
  size_t workspace_bytes = 0;
};
bool init_wgmma_gemm(int device);
WgmmaGemmPlan plan_wgmma_gemm(int tokens, int n, int k, int sms);
size_t wgmma_gemm_max_workspace_bytes(int sms);  // the largest workspace_bytes of any plan
bool launch_wgmma_gemm(const void* x, const void* w, DType in_dtype, void* out, DType out_dtype, int tokens, int n,
                       int k, const WgmmaGemmPlan& plan, float* workspace, unsigned* tile_counters,
                       cudaStream_t stream);

// argmax.cu: out[r] = index of the largest of logits[r, 0..cols) (fp32), lowest index on ties,
// NaN skipped (0 for a row of NaN).
void launch_argmax_rows(const float* logits, int rows, int cols, int32_t* out, cudaStream_t stream);

// top_candidates.cu: for each i < num_rows, row rows[i] of logits [*, vocab]: the k largest
// (1 <= k <= kMaxCandidatesPow2, k <= vocab) as out_ids/out_values [num_rows, k] by value
// descending (NaN lowest, ties by lower id), the largest non-NaN value out_max[i] and
// out_sum[i] = sum over non-NaN x of exp((x - out_max[i]) / temperatures[i]).
constexpr int kMaxCandidatesPow2 = 1024;
void launch_top_candidates(const float* logits, int vocab, const int32_t* rows, const float* temperatures,
                           int num_rows, int k, int32_t* out_ids, float* out_values, float* out_max,
                           float* out_sum, cudaStream_t stream);

// repetition_penalty.cu: for i < n, x = logits[pairs[i] * vocab + pairs[n + i]] (row, id) becomes
// x / p or x * p (x > 0 or not), p = the float whose bits are pairs[2n + i]. Pairs are distinct.
void launch_repetition_penalty(float* logits, int64_t vocab, const int32_t* pairs, int n, cudaStream_t stream);

}  // namespace turbine::cuda
