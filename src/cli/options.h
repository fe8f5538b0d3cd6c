// Command-line options shared by generate, chat, bench and serve: device, engine and sampling.
// Each add_* registers flags on a subcommand; the resolve functions turn them into typed structs.
#pragma once
#include <CLI/CLI.hpp>

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "engine/sampling_params.h"
#include "model/generation_config.h"
#include "model/model_config.h"
#include "text/tokenizer.h"

namespace turbine::cli {

// The CUDA backend's switches as given on the command line (unset: the environment fallback, then
// the defaults; see resolve_cuda). Accepted on every device; the cpu backend has no use for them.
struct CudaFlags {
  std::optional<std::string> graphs, fused, pdl, cublaslt_tune, int4_tiled_gemm, int4_wgmma, int4_b_order,
      flash_quantized_kv,
      kv_decode_wide_lanes;  // "on" / "off"
  std::optional<int> skinny_gemm_max_tokens, wgmma_gemm_max_tokens, int4_gemv_max_tokens, int4_dequant_min_tokens,
      int4_tiled_min_tokens, int4_tiled_max_tokens;
};

// The CPU backend's switches as given on the command line (checked as they are parsed).
struct CpuFlags {
  std::string isa = "auto";            // --cpu-isa auto|avx512|avx2|scalar
  std::string weights = "checkpoint";  // --cpu-weights checkpoint|f32
};

struct DeviceOptions {
  std::string device;  // "" = cuda when a GPU is present, else cpu
  int threads = 0;     // cpu worker threads (0 = all cores)
  int tp = 0;          // --tp: tensor-parallel ranks (0: not given: a workspace's, else 1)
  std::string devices;  // --devices: GPU indexes of the ranks ("0,1"; empty: the first tp)
  std::string dtype;    // --dtype: "" or auto = the checkpoint's half type on a GPU, float32 on the CPU
  std::string lm_head_quant = "none";  // --lm-head-quant none|int4
  CudaFlags cuda;
  CpuFlags cpu;
};

// LMDeploy's engine flags and defaults.
struct EngineOptions {
  int max_batch_size = 128;
  std::string cache_max_entry_count = "0.8";  // a fraction, or a size with a unit ("6GiB")
  int cache_block_seq_len = 64;
  std::string kv_quant = "none";  // none|int8|int4|fp8
  int session_len = 0;  // 0 = the model's max_position_embeddings
  int max_prefill_token_num = 8192;
  int sampling_threads = 4;  // threads for guided masks and host-sampled rows (0: on the engine thread)
  std::string cpu_memory = "4GiB";
  std::set<std::string> given;  // the flags above given on the command line ("--session-len", ...)
};

// --cache-max-entry-count resolved: either a fraction of free memory or an absolute size.
struct CacheBudget {
  double fraction = 0.0;  // used when bytes == 0
  size_t bytes = 0;
};

// --max-new-tokens (absent: 256, clamped to the session: engine/request_validation.h), --temperature,
// ... as SamplingOverrides, and the stop settings.
struct SamplingOptions : SamplingOverrides {
  std::vector<std::string> stop;
  bool ignore_eos = false;
};

// --device, --threads, --tp, --devices, --dtype, --lm-head-quant and the CUDA switches (add_cuda_options).
void add_device_options(CLI::App& cmd, DeviceOptions& options);
// --lm-head-quant none|int4 (BackendOptions::lm_head_int4).
void add_lm_head_option(CLI::App& cmd, std::string& value);
// --cuda-graphs, --cuda-fused, --cuda-pdl, --cublaslt-tune (on|off), --skinny-gemm-max-tokens N,
// --wgmma-gemm-max-tokens N, --int4-gemv-max-tokens N.
void add_cuda_options(CLI::App& cmd, CudaFlags& flags);
// --cpu-isa auto|avx512|avx2|scalar, --cpu-weights checkpoint|f32.
void add_cpu_options(CLI::App& cmd, CpuFlags& flags);
CpuOptions resolve_cpu(const CpuFlags& flags);
void add_engine_options(CLI::App& cmd, EngineOptions& options);
// --kv-quant none|int8|int4|fp8 (part of add_engine_options; bench generate takes it alone).
void add_kv_quant_option(CLI::App& cmd, std::string& kv_quant);
void add_sampling_options(CLI::App& cmd, SamplingOptions& options);

// "4GiB", "512MiB", "2GB", "1048576" -> bytes; throws Error naming `flag` (when not empty) on
// anything else.
size_t parse_size(const std::string& text, const std::string& flag);
// A fraction in (0, 1] or a size with a unit; throws Error naming `flag` (when not empty).
CacheBudget parse_cache_budget(const std::string& text, const std::string& flag = "--cache-max-entry-count");

BackendOptions resolve_backend(const DeviceOptions& device, const EngineOptions& engine);
// The CUDA options for `device` (resolved): the flags given, the TURBINE_CUDA_* / TURBINE_CUBLASLT_TUNE
// environment variables for flags not given (each one used is named on stderr), then the defaults.
// On cpu the environment is not read and the defaults stand in for what was not given.
CudaOptions resolve_cuda(const CudaFlags& flags, const std::string& device);
// The context one sequence may hold: --session-len, else max_position_embeddings.
int resolve_session_len(const EngineOptions& engine, const ModelConfig& config);
// Flags over generation_config.json defaults (used only where it sets do_sample: true); the stop
// set is generation_config's eos ids (config.json's when it has none) plus the tokenizer's eos.
SamplingParams resolve_sampling(const SamplingOptions& options, const GenerationConfig& generation,
                                const ModelConfig& config, const Tokenizer& tokenizer);

}  // namespace turbine::cli
