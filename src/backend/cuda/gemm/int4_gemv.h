// Launcher of int4_gemv.cu: the 4-bit (W4A16) linear of int4_gemm.h for decode-sized token counts,
// over the same packed layout and arguments. It takes 1..kInt4GemvMaxTokens tokens and group sizes
// that are powers of two (32, 64, 128, ...); for anything else it returns false and launches nothing,
// and the caller runs launch_int4_gemm instead.
#pragma once
#include "backend/cuda/attention/qkv_rope_store.h"
#include "backend/cuda/common/kernel_launch.h"
#include "backend/cuda/gemm/int4_gemm.h"
#include "backend/cuda_options.h"  // kInt4GemvMaxTokens, kInt4GemvPreNormMaxK: this kernel's limits

namespace turbine::cuda {

// One token's input computed from the op before it (a decoder's pre-norm, as the skinny GEMM's
// AddRmsNorm): the GEMV multiplies rms_norm(x + delta) * weight, rounded to the compute dtype as
// add_rms_norm's output is, and writes x + delta (the updated residual) to residual_out.
struct Int4GemvPreNorm {
  const void* delta = nullptr;   // [1, K] or null (then x is normalised as it is, nothing is written)
  const void* weight = nullptr;  // [K]
  void* residual_out = nullptr;  // [1, K], apart from x; with delta only
  float eps = 0.0f;
};

// What the GEMV does with one token's outputs (with a pre-norm only): stores them (Store), or, as
// the op after it, silu_mul's SwiGLU (out [1, N / 2] = silu(gate) * up, the weight's rows being gate
// then up; N a multiple of 32) or qkv_rope_store's work without per-head q/k norms into a dense cache
// with RoPE over whole heads of a multiple of 32 dims (`rope`; out unused).
enum class Int4GemvEpilogue { Store, SiluMul, RopeStore };

// `sms`: the device's multiprocessors (the persistent grid's size follows from it). With `pre`, the
// GEMV takes one token, group sizes of 128 and more and K up to kInt4GemvPreNormMaxK, and the
// epilogue's shapes (returning false otherwise, nothing launched).
bool launch_int4_gemv(const Int4GemmArgs& args, int sms, const KernelLaunch& launch,
                      const Int4GemvPreNorm* pre = nullptr, Int4GemvEpilogue epilogue = Int4GemvEpilogue::Store,
                      const QkvRopeParams* rope = nullptr);

}  // namespace turbine::cuda
