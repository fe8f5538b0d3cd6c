// The CUDA backend's switches as one typed struct, visible to every layer (and to builds without
// CUDA, where they are accepted and unused). The CLI fills it from flags (--cuda-graphs, ...);
// environment variables are a documented fallback for flags not given (cuda_options_from_env).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace turbine {

// Most tokens the decode GEMM kernels take: skinny_gemm.cu (1 or 2 tokens) and, on Hopper,
// wgmma_gemm.cu (up to 48). Declared here so that flags are checked without the CUDA headers.
constexpr int kSkinnyGemmMaxTokens = 2;
constexpr int kWgmmaGemmMaxTokens = 48;
// Most tokens the 4-bit decode GEMV (int4_gemv.cu) takes: two mma token tiles.
constexpr int kInt4GemvMaxTokens = 16;
// Widest K the GEMV takes a decode step's pre-norm at (the normalised row sits in its shared memory).
constexpr int kInt4GemvPreNormMaxK = 8192;
// The largest token count --int4-tiled-min-tokens / --int4-tiled-max-tokens take.
constexpr int kInt4TiledTokensLimit = 1 << 20;
// The token counts the tiled 4-bit GEMM (int4_tiled_gemm.cu) takes by default: from 17 where its tiles
// run on wgmma (int4_wgmma_gemm.cu; on an H200 a 7B layer at 32 tokens takes 0.79x int4_gemm.cu's
// time), from 33 on mma.sync (on an H100 1.05x at 32 tokens, 0.70x at 64 and 0.69-0.78x from 128 to
// 2048; docs/performance.md).
constexpr int kInt4WgmmaTiledMinTokens = 17, kInt4TiledMinTokens = 33, kInt4TiledMaxTokens = kInt4TiledTokensLimit;

struct CudaOptions {
  bool graphs = true;         // decode steps recorded and replayed as CUDA graphs
  bool fused = true;          // at one token, norms and RoPE (4-bit: and SwiGLU) run inside the GEMM/GEMV
  bool pdl = true;            // programmatic dependent launch (compute capability 9.0+ only)
  bool cublaslt_tune = true;  // time cuBLASLt's candidates for decode-sized shapes
  // GEMMs of up to this many tokens take the skinny kernel (0: none); 0..kSkinnyGemmMaxTokens.
  int skinny_gemm_max_tokens = kSkinnyGemmMaxTokens;
  // Then up to this many the Hopper kernel (0: none; cuBLASLt from there); 0..kWgmmaGemmMaxTokens.
  int wgmma_gemm_max_tokens = kWgmmaGemmMaxTokens;
  // 4-bit (W4A16) linears of up to this many tokens take the decode GEMV, the rest (and all at 0) the
  // 4-bit GEMM; 0..kInt4GemvMaxTokens (docs/performance.md has the timings).
  int int4_gemv_max_tokens = kInt4GemvMaxTokens;
  // 4-bit linears of int4_tiled_min_tokens to int4_tiled_max_tokens tokens (and more than one mma
  // token tile, 8) take the tiled GEMM (int4_tiled_gemm.cu: the activations staged once per 128-row
  // block, K split over blocks), not int4_gemm.cu; off: none do.
  bool int4_tiled_gemm = true;
  // On Hopper (compute capability 9.0), the tiled GEMM's tiles on wgmma with the weights dequantized in
  // registers (int4_wgmma_gemm.cu): a 7B layer at 64 tokens in 114 us on an H200; on an H100 the
  // earlier one-strip kernel took 128 against 146 with mma.sync (docs/performance.md). Off: mma.sync,
  // for comparisons.
  bool int4_wgmma = true;
  // Where a pre-norm's 4-bit projection (qkv, gate_up) runs on the wgmma GEMM's 64-token tiles (33+
  // tokens), the norm writes its output in their B operand's order (gemm/int4_b_order.h), which they
  // copy into shared memory with 16-byte cp.async instead of loading and transposing it. Off: the
  // natural order, for comparisons.
  bool int4_b_order = true;
  // Unset: kInt4WgmmaTiledMinTokens where a launch's tiles run on wgmma, else kInt4TiledMinTokens.
  std::optional<int> int4_tiled_min_tokens;
  int int4_tiled_max_tokens = kInt4TiledMaxTokens;
  // 4-bit linears of at least this many tokens (0: none) dequantize the weight to the compute dtype
  // and run the 16-bit GEMM (int4_dequantize.cu; long prefills). Off by default: its dequantization
  // alone takes ~190 us for a 4096 x 12288 weight on an H200, far from the copy bandwidth.
  int int4_dequant_min_tokens = 0;
  // Prefill tiles over a quantized KV cache on the flash kernel (dequantizing each tile into shared
  // memory) instead of the general kernel: a 2048-token int8 prefill of 32 heads of 128 takes 265 us
  // against 4324 on an H100 (docs/performance.md). Off: the general kernel, for comparisons.
  bool flash_quantized_kv = true;
  // Decode attention over a quantized KV cache with one query head per KV head and head_dim 128 reads
  // 16 bytes of a row per lane (16 int8 / fp8 or 32 int4 values) instead of 8 values' bytes
  // (paged_decode.cu): batch-128 decode at 640 positions takes 259 / 262 / 276 us on int8 / int4 / fp8
  // against 310 / 345 / 313 with 8 values a lane on an H100 (docs/performance.md).
  bool kv_decode_wide_lanes = true;
  // Every attention step on the general kernel, none on the decode or flash kernels: no flag, for the
  // GPU tests that compare the kernels on the same batch.
  bool general_attention = false;
};

// The largest token count --int4-dequant-min-tokens takes.
constexpr int kInt4DequantMinTokensLimit = 1 << 20;

// The options given on the command line; unset ones come from the environment, then the defaults.
struct CudaOptionFlags {
  std::optional<bool> graphs, fused, pdl, cublaslt_tune, int4_tiled_gemm, int4_wgmma, int4_b_order, flash_quantized_kv,
      kv_decode_wide_lanes;
  std::optional<int> skinny_gemm_max_tokens, wgmma_gemm_max_tokens, int4_gemv_max_tokens, int4_dequant_min_tokens,
      int4_tiled_min_tokens, int4_tiled_max_tokens;
};

// "on"/"off" (also "1"/"0") -> bool; throws Error naming `name` otherwise.
bool parse_on_off(const std::string& text, const std::string& name);

// Resolves `flags` over the environment fallback, read through `getenv` (std::getenv in the CLI):
// TURBINE_CUDA_GRAPHS, TURBINE_CUDA_FUSED, TURBINE_CUDA_PDL, TURBINE_CUBLASLT_TUNE, TURBINE_CUDA_INT4_TILED,
// TURBINE_CUDA_INT4_WGMMA, TURBINE_CUDA_INT4_B_ORDER, TURBINE_CUDA_FLASH_QUANTIZED_KV,
// TURBINE_CUDA_KV_DECODE_WIDE_LANES (on/off/1/0), TURBINE_CUDA_SKINNY_GEMM, TURBINE_CUDA_WGMMA_GEMM,
// TURBINE_CUDA_INT4_GEMV, TURBINE_CUDA_INT4_TILED_MIN, TURBINE_CUDA_INT4_TILED_MAX, TURBINE_CUDA_INT4_DEQUANT (a token
// count). A variable is used only where its flag was not given; each one used is appended to `applied` as "NAME=value".
// A bad value or a count outside its range throws Error naming the flag or variable.
CudaOptions resolve_cuda_options(const CudaOptionFlags& flags, const std::function<const char*(const char*)>& getenv,
                                 std::vector<std::string>* applied);

}  // namespace turbine
