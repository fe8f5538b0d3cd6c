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
// Most tokens the 4-bit decode GEMV (int4_gemv.cu) takes: one mma token tile.
constexpr int kInt4GemvMaxTokens = 8;
// Most tokens the 4-bit stream GEMM (int4_stream_gemm.cu, Hopper) takes: eight mma token tiles.
constexpr int kInt4StreamMaxTokens = 64;

struct CudaOptions {
  bool graphs = true;         // decode steps recorded and replayed as CUDA graphs
  bool fused = true;          // at one token, norms and RoPE run inside the skinny GEMM
  bool pdl = true;            // programmatic dependent launch (compute capability 9.0+ only)
  bool cublaslt_tune = true;  // time cuBLASLt's candidates for decode-sized shapes
  // GEMMs of up to this many tokens take the skinny kernel (0: none); 0..kSkinnyGemmMaxTokens.
  int skinny_gemm_max_tokens = kSkinnyGemmMaxTokens;
  // Then up to this many the Hopper kernel (0: none; cuBLASLt from there); 0..kWgmmaGemmMaxTokens.
  int wgmma_gemm_max_tokens = kWgmmaGemmMaxTokens;
  // 4-bit (W4A16) linears of up to this many tokens take the stream GEMM on Hopper (weights through a
  // ring of shared-memory stages filled by bulk copies, persistent blocks); 0..kInt4StreamMaxTokens.
  // The kernels below serve the rest, and every token count on other GPUs. 0 by default: it has not
  // run on a GPU yet.
  int int4_stream_max_tokens = 0;
  // 4-bit (W4A16) linears of up to this many tokens take the decode GEMV, the rest (and all at 0) the
  // 4-bit GEMM; 0..kInt4GemvMaxTokens. 1 by default: on an H200 a 7B layer's four GEMVs at one token take
  // 0.92x the 4-bit GEMM's time; 2..8 tokens have not been timed (docs/performance.md).
  int int4_gemv_max_tokens = 1;
  // 4-bit linears of more tokens than one mma tile (8) take the tiled GEMM (int4_tiled_gemm.cu: the
  // activations staged once per 128-row block, K split over blocks), not int4_gemm.cu. Off by default:
  // correct on an H200, but slower than int4_gemm.cu at 16 and 32 tokens (faster at 64).
  bool int4_tiled_gemm = false;
  // 4-bit linears of at least this many tokens (0: none) dequantize the weight to the compute dtype
  // and run the 16-bit GEMM (int4_dequantize.cu; long prefills). Off by default: its dequantization
  // alone takes ~190 us for a 4096 x 12288 weight on an H200, far from the copy bandwidth.
  int int4_dequant_min_tokens = 0;
  // Prefill tiles over a quantized KV cache on the flash kernel (dequantizing each tile into shared
  // memory) instead of the general kernel. Off by default: correct on an H200 (kjv-llama int8 +0.009%
  // against Dense), not yet timed.
  bool flash_quantized_kv = false;
  // Decode attention over a quantized KV cache with one query head per KV head and head_dim 128 reads
  // 16 bytes of a row per lane (16 int8 / fp8 or 32 int4 values) instead of 8 values' bytes
  // (paged_decode.cu). Off by default: correct on an H200, not yet timed.
  bool kv_decode_wide_lanes = false;
  // Decode attention over a quantized KV cache on tensor cores (paged_decode_mma.cu: mma.sync with the
  // codes as fp16 operands, scale and zero applied per key), head_dim 64 / 128, up to 8 query heads per
  // KV head; takes precedence over the wide lanes. Off by default: correct on an H200, not yet timed.
  bool kv_decode_mma = false;
  // Every attention step on the general kernel, none on the decode or flash kernels: no flag, for the
  // GPU tests that compare the kernels on the same batch.
  bool general_attention = false;
  // The stream GEMM's resident blocks per SM and ring bytes per block in KiB (0: its defaults): no
  // flag, for int4_linear_bench's sweep.
  int int4_stream_blocks_per_sm = 0, int4_stream_ring_kib = 0;
};

// The largest token count --int4-dequant-min-tokens takes.
constexpr int kInt4DequantMinTokensLimit = 1 << 20;

// The options given on the command line; unset ones come from the environment, then the defaults.
struct CudaOptionFlags {
  std::optional<bool> graphs, fused, pdl, cublaslt_tune, int4_tiled_gemm, flash_quantized_kv, kv_decode_wide_lanes,
      kv_decode_mma;
  std::optional<int> skinny_gemm_max_tokens, wgmma_gemm_max_tokens, int4_stream_max_tokens, int4_gemv_max_tokens,
      int4_dequant_min_tokens;
};

// "on"/"off" (also "1"/"0") -> bool; throws Error naming `name` otherwise.
bool parse_on_off(const std::string& text, const std::string& name);

// Resolves `flags` over the environment fallback, read through `getenv` (std::getenv in the CLI):
// TURBINE_CUDA_GRAPHS, TURBINE_CUDA_FUSED, TURBINE_CUDA_PDL, TURBINE_CUBLASLT_TUNE, TURBINE_CUDA_INT4_TILED,
// TURBINE_CUDA_FLASH_QUANTIZED_KV, TURBINE_CUDA_KV_DECODE_WIDE_LANES, TURBINE_CUDA_KV_DECODE_MMA (on/off/1/0),
// TURBINE_CUDA_SKINNY_GEMM, TURBINE_CUDA_WGMMA_GEMM, TURBINE_CUDA_INT4_STREAM, TURBINE_CUDA_INT4_GEMV, TURBINE_CUDA_INT4_DEQUANT (a token count). A variable is used only where
// its flag was not given; each one used is appended to `applied` as "NAME=value". A bad value or a
// count outside its range throws Error naming the flag or variable.
CudaOptions resolve_cuda_options(const CudaOptionFlags& flags, const std::function<const char*(const char*)>& getenv,
                                 std::vector<std::string>* applied);

}  // namespace turbine
