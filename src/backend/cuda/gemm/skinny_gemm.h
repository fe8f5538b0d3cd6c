// Launcher of skinny_gemm.cu: out[T, N] = x[T, K] @ w[N, K]^T (+ bias) for 1 <= T <=
// kSkinnyGemmMaxTokens (decode steps of one or two sequences). At one token it can also compute x
// from the op before (SkinnyInput) and, for the qkv projection, end with qkv_rope_store's work
// instead of writing `out` (`rope` non-null, without per-head q/k norms; its `qkv` is unused).
// Returns false (nothing launched) for what it does not take: K not a multiple of 8, unaligned
// pointers, an output dtype other than fp32 or the input's (the input's only when fused).
#pragma once
#include "backend/cuda/attention/qkv_rope_store.h"
#include "backend/cuda/common/kernel_launch.h"
#include "backend/cuda_options.h"  // kSkinnyGemmMaxTokens / kWgmmaGemmMaxTokens, this kernel's limit
#include "core/dtype.h"

namespace turbine::cuda {

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
bool launch_skinny_gemm(const SkinnyGemmArgs& args, const QkvRopeParams* rope, const KernelLaunch& launch);

}  // namespace turbine::cuda
