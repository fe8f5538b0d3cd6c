#include "cli/options.h"

#include <cstdio>
#include <cstdlib>
#include <regex>

#include "cli/option_checks.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "core/log.h"
#include "engine/sampling_defaults.h"
#include "pipeline/compute_dtype.h"

namespace turbine::cli {

void add_device_options(CLI::App& cmd, DeviceOptions& o) {
  cmd.add_option("--device", o.device, "cpu, cuda or cuda:N (default: cuda when a GPU is present, else cpu)")
      ->check(device_name());
  cmd.add_option("--threads", o.threads, "CPU worker threads (0 = all cores)")->check(int_at_least(0));
  cmd.add_option("--tp", o.tp, "tensor-parallel ranks: GPUs on cuda, threads sharing the cores on cpu (default 1)")
      ->check(int_at_least(1));
  cmd.add_option("--devices", o.devices, "GPU indexes of the --tp ranks, comma-separated (default: the first N)")
      ->check([](const std::string& v) -> std::string {
        static const std::regex pattern("[0-9]{1,4}(,[0-9]{1,4})*");
        return std::regex_match(v, pattern) ? "" : "must be GPU indexes like 0,1, got '" + v + "'";
      });
  cmd.add_option("--dtype", o.dtype,
                 "compute dtype: auto (the checkpoint's half type on cuda, float32 on cpu), float16 or bfloat16 "
                 "on cuda, float32 on cpu")
      ->type_name("DTYPE");
  add_lm_head_option(cmd, o.lm_head_quant);
  add_cuda_options(cmd, o.cuda);
  add_cpu_options(cmd, o.cpu);
}

void add_lm_head_option(CLI::App& cmd, std::string& value) {
  cmd.add_option("--lm-head-quant", value,
                 "the output projection's weights: none (as the checkpoint stores them) or int4 (4-bit groups of 128 "
                 "columns, rounded to nearest at load: a quarter of the bytes a decode step reads there)")
      ->capture_default_str()
      ->check([](const std::string& v) -> std::string {
        return v == "none" || v == "int4" ? "" : "expected none or int4, got '" + v + "'";
      });
}

void add_cpu_options(CLI::App& cmd, CpuFlags& f) {
  auto checked = [](auto parse) {
    return [parse](const std::string& v) -> std::string {
      try {
        parse(v, "");
        return "";
      } catch (const Error& e) {
        return e.what();
      }
    };
  };
  const std::string group = "CPU backend (ignored on cuda)";
  cmd.add_option("--cpu-isa", f.isa,
                 "kernel instruction set: auto (the widest this processor has), avx512, avx2, "
                 "scalar")
      ->type_name("ISA")
      ->capture_default_str()
      ->group(group)
      ->check(checked(parse_cpu_isa));
  cmd.add_option("--cpu-weights", f.weights, "matrix weights: checkpoint (bf16/fp16 stay 16-bit) or f32")
      ->type_name("KIND")
      ->capture_default_str()
      ->group(group)
      ->check(checked(parse_cpu_weights));
}

CpuOptions resolve_cpu(const CpuFlags& f) {
  CpuOptions o;
  o.isa = parse_cpu_isa(f.isa, "--cpu-isa");
  o.weights = parse_cpu_weights(f.weights, "--cpu-weights");
  return o;
}

void add_cuda_options(CLI::App& cmd, CudaFlags& f) {
  auto on_off = [&cmd](const char* name, std::optional<std::string>& value, const char* help) {
    cmd.add_option(name, value, help)->type_name("on|off")->check([](const std::string& v) -> std::string {
      try {
        parse_on_off(v, "");
        return "";
      } catch (const Error&) {
        return "expected on or off, got '" + v + "'";
      }
    });
  };
  // A token-count option: --NAME N, checked against 0..max.
  auto tokens = [&cmd](const char* name, std::optional<int>& value, const std::string& help, int max) {
    cmd.add_option(name, value, help)->type_name("N")->check(CLI::Range(0, max));
  };
  const std::string group = "CUDA backend (ignored on cpu)";
  on_off("--cuda-graphs", f.graphs, "record decode steps as CUDA graphs and replay them (default on)");
  on_off("--cuda-fused", f.fused,
         "run the pre-norm and RoPE (and with 4-bit weights SwiGLU) inside the one-token GEMM (default on)");
  on_off("--cuda-pdl", f.pdl, "programmatic dependent launch on compute capability 9.0+ (default on)");
  on_off("--cublaslt-tune", f.cublaslt_tune, "time cuBLASLt's candidates for decode-sized GEMMs (default on)");
  tokens("--skinny-gemm-max-tokens", f.skinny_gemm_max_tokens,
         fmt::format("GEMMs of up to N tokens take the skinny kernel (0..{}, default {})", kSkinnyGemmMaxTokens,
                     kSkinnyGemmMaxTokens),
         kSkinnyGemmMaxTokens);
  tokens("--wgmma-gemm-max-tokens", f.wgmma_gemm_max_tokens,
         fmt::format("then up to N tokens the Hopper wgmma kernel, beyond cuBLASLt (0..{}, default {})",
                     kWgmmaGemmMaxTokens, kWgmmaGemmMaxTokens),
         kWgmmaGemmMaxTokens);
  tokens("--int4-gemv-max-tokens", f.int4_gemv_max_tokens,
         fmt::format("4-bit linears of up to N tokens take the decode GEMV, beyond the 4-bit GEMM (0..{}, default {})",
                     kInt4GemvMaxTokens, CudaOptions{}.int4_gemv_max_tokens),
         kInt4GemvMaxTokens);
  on_off("--int4-tiled-gemm", f.int4_tiled_gemm,
         "4-bit linears of --int4-tiled-min-tokens to --int4-tiled-max-tokens tokens (and more than 8) take the tiled "
         "4-bit GEMM (default on)");
  on_off("--int4-wgmma", f.int4_wgmma,
         "on Hopper, the tiled 4-bit GEMM on wgmma, the weights dequantized in registers (default on; off: "
         "mma.sync)");
  on_off("--int4-b-order", f.int4_b_order,
         "where a pre-norm's 4-bit projection runs on the wgmma GEMM's 64-token tiles (33+ tokens), the norm writes "
         "its output in the order their B operand reads (default on; off: the natural order)");
  tokens("--int4-tiled-min-tokens", f.int4_tiled_min_tokens,
         fmt::format("the fewest tokens of a 4-bit linear the tiled GEMM takes (default {} where its tiles run on "
                     "wgmma, Hopper; {} on mma.sync, which is slower than the 4-bit GEMM at 32 tokens)",
                     kInt4WgmmaTiledMinTokens, kInt4TiledMinTokens),
         kInt4TiledTokensLimit);
  tokens("--int4-tiled-max-tokens", f.int4_tiled_max_tokens,
         fmt::format("the most tokens of a 4-bit linear the tiled GEMM takes (default {}, every count: on an H100 "
                     "it is faster than the 4-bit GEMM from 64 to 2048 tokens)",
                     kInt4TiledMaxTokens),
         kInt4TiledTokensLimit);
  tokens("--int4-dequant-min-tokens", f.int4_dequant_min_tokens,
         "4-bit linears of at least N tokens dequantize the weight and run the 16-bit GEMM (0: never, the default; "
         "on an H100 it wins at 1024 tokens, but prefill has not been timed end to end with it)",
         kInt4DequantMinTokensLimit);
  on_off("--flash-quantized-kv", f.flash_quantized_kv,
         "prefill attention over a quantized KV cache on the tensor-core flash kernel, not the general one (default "
         "on)");
  on_off("--kv-decode-wide-lanes", f.kv_decode_wide_lanes,
         "decode attention over an int8/int4/fp8 KV cache (one query head per KV head, head_dim 128) reads 16 bytes "
         "of a row per lane (default on)");
  for (const char* name : {"--cuda-graphs", "--cuda-fused", "--cuda-pdl", "--cublaslt-tune", "--skinny-gemm-max-tokens",
                           "--wgmma-gemm-max-tokens", "--int4-gemv-max-tokens", "--int4-tiled-gemm", "--int4-wgmma",
                           "--int4-b-order", "--int4-tiled-min-tokens", "--int4-tiled-max-tokens",
                           "--int4-dequant-min-tokens", "--flash-quantized-kv", "--kv-decode-wide-lanes"})
    cmd.get_option(name)->group(group);
}

void add_kv_quant_option(CLI::App& cmd, std::string& kv_quant) {
  cmd.add_option("--kv-quant", kv_quant, "KV cache format: none (the compute dtype), int8, int4 or fp8")
      ->capture_default_str()
      ->check([](const std::string& v) -> std::string {
        try {
          parse_kv_format(v, "");
          return "";
        } catch (const Error& e) {
          return e.what();
        }
      });
}

void add_engine_options(CLI::App& cmd, EngineOptions& o) {
  cmd.add_option("--max-batch-size", o.max_batch_size, "most sequences in one step")
      ->capture_default_str()
      ->check(int_at_least(1));
  cmd.add_option("--cache-max-entry-count", o.cache_max_entry_count,
                 "KV cache: fraction of free memory, or a size such as 6GiB")
      ->capture_default_str()
      ->check([](const std::string& v) -> std::string {
        try {
          parse_cache_budget(v, "");
          return "";
        } catch (const Error& e) {
          return e.what();
        }
      });
  cmd.add_option("--cache-block-seq-len", o.cache_block_seq_len, "tokens per KV block")
      ->capture_default_str()
      ->check(int_at_least(1));
  add_kv_quant_option(cmd, o.kv_quant);
  cmd.add_option("--session-len", o.session_len, "most tokens per sequence (default: max_position_embeddings)")
      ->check(int_at_least(1));
  cmd.add_option("--max-prefill-token-num", o.max_prefill_token_num, "most prompt tokens in one step")
      ->capture_default_str()
      ->check(int_at_least(1));
  cmd.add_option("--sampling-threads", o.sampling_threads,
                 "threads (at most the cores) that find guided requests' token masks while the forward pass "
                 "runs and sample the rows sampled on the host (guided, logprobs, penalties, plain temperature) "
                 "after it; 0 = on the engine thread")
      ->capture_default_str()
      ->check(int_at_least(0));
  // Which tunables the command line gave: they win over a workspace's (with_workspace_tunables).
  for (const char* name : {"--max-batch-size", "--cache-max-entry-count", "--cache-block-seq-len", "--session-len",
                           "--max-prefill-token-num", "--kv-quant"})
    cmd.get_option(name)->each([&o, name](const std::string&) { o.given.insert(name); });
  cmd.add_option("--cpu-memory", o.cpu_memory, "memory the CPU backend's KV cache may use")
      ->capture_default_str()
      ->check([](const std::string& v) -> std::string {
        try {
          parse_size(v, "");
          return "";
        } catch (const Error& e) {
          return e.what();
        }
      });
}

void add_sampling_options(CLI::App& cmd, SamplingOptions& o) {
  cmd.add_option("--max-new-tokens", o.max_new_tokens,
                 "most tokens to generate (default 256, clamped to the session; 0 = none; an explicit value "
                 "beyond the session is an error)")
      ->check(int_at_least(0));
  cmd.add_option("--temperature", o.temperature, "0 = greedy")->check(real_at_least(0));
  cmd.add_option("--top-k", o.top_k, "keep the k most likely tokens (0 = off)")->check(int_at_least(0));
  cmd.add_option("--top-p", o.top_p, "nucleus sampling (1 = off)")->check(real_in(0, 1));
  cmd.add_option("--min-p", o.min_p, "drop tokens below min-p times the top probability")->check(real_in(0, 1));
  cmd.add_option("--repetition-penalty", o.repetition_penalty, "HF repetition penalty (1 = off)")
      ->check(real_positive());
  cmd.add_option("--presence-penalty", o.presence_penalty,
                 "OpenAI presence penalty over the generated tokens (-2..2, 0 = off)")
      ->check(real_in(-kMaxPresenceFrequencyPenalty, kMaxPresenceFrequencyPenalty));
  cmd.add_option("--frequency-penalty", o.frequency_penalty,
                 "OpenAI frequency penalty over the generated tokens (-2..2, 0 = off)")
      ->check(real_in(-kMaxPresenceFrequencyPenalty, kMaxPresenceFrequencyPenalty));
  cmd.add_option("--seed", o.seed, "seed of the sampler")->check(seed_value());
  cmd.add_option("--stop", o.stop, "stop string (repeatable; not printed)")->allow_extra_args(false);
  cmd.add_flag("--ignore-eos", o.ignore_eos, "generate through end-of-sequence tokens");
}

size_t parse_size(const std::string& text, const std::string& flag) { return parse_byte_size(text, flag); }

CacheBudget parse_cache_budget(const std::string& text, const std::string& flag) {
  CacheBudget budget;
  // A number without a unit is LMDeploy's fraction of free memory; sizes need their unit.
  static const std::regex bare_number(R"(\s*([0-9]+\.?[0-9]*|\.[0-9]+)\s*)");
  if (std::regex_match(text, bare_number)) {
    budget.fraction = std::stod(text);
    if (budget.fraction <= 0 || budget.fraction > 1)
      fail("{}a fraction must be in (0, 1]; give a size with a unit such as 6GiB, got '{}'",
           flag.empty() ? "" : flag + ": ", text);
    return budget;
  }
  budget.bytes = parse_size(text, flag);
  return budget;
}

BackendOptions resolve_backend(const DeviceOptions& device, const EngineOptions& engine) {
  BackendOptions b;
  b.device = device.device.empty() ? (cuda_available() ? "cuda" : "cpu") : device.device;
  b.threads = device.threads;
  b.tp = device.tp;
  for (size_t at = 0; at < device.devices.size();) {
    const size_t comma = std::min(device.devices.find(',', at), device.devices.size());
    b.devices.push_back(std::stoi(device.devices.substr(at, comma - at)));
    at = comma + 1;
  }
  if (!b.devices.empty() && b.device == "cpu") fail("--devices names GPUs, and the device is cpu");
  if (b.tp == 0 && !b.devices.empty()) b.tp = int(b.devices.size());
  if (!b.devices.empty() && int(b.devices.size()) != b.tp)
    fail("--devices names {} GPUs for --tp {}", b.devices.size(), b.tp);
  b.memory_budget = parse_size(engine.cpu_memory, "--cpu-memory");
  b.dtype = resolve_compute_dtype(device.dtype, b.device, "--dtype");
  b.cuda = resolve_cuda(device.cuda, b.device);
  b.cpu = resolve_cpu(device.cpu);
  b.lm_head_int4 = device.lm_head_quant == "int4";
  return b;
}

CudaOptions resolve_cuda(const CudaFlags& f, const std::string& device) {
  CudaOptionFlags flags;
  auto on_off = [](const std::optional<std::string>& v, const char* name) -> std::optional<bool> {
    if (!v) return std::nullopt;
    return parse_on_off(*v, name);
  };
  flags.graphs = on_off(f.graphs, "--cuda-graphs");
  flags.fused = on_off(f.fused, "--cuda-fused");
  flags.pdl = on_off(f.pdl, "--cuda-pdl");
  flags.cublaslt_tune = on_off(f.cublaslt_tune, "--cublaslt-tune");
  flags.int4_tiled_gemm = on_off(f.int4_tiled_gemm, "--int4-tiled-gemm");
  flags.int4_wgmma = on_off(f.int4_wgmma, "--int4-wgmma");
  flags.int4_b_order = on_off(f.int4_b_order, "--int4-b-order");
  flags.flash_quantized_kv = on_off(f.flash_quantized_kv, "--flash-quantized-kv");
  flags.kv_decode_wide_lanes = on_off(f.kv_decode_wide_lanes, "--kv-decode-wide-lanes");
  flags.skinny_gemm_max_tokens = f.skinny_gemm_max_tokens;
  flags.wgmma_gemm_max_tokens = f.wgmma_gemm_max_tokens;
  flags.int4_gemv_max_tokens = f.int4_gemv_max_tokens;
  flags.int4_dequant_min_tokens = f.int4_dequant_min_tokens;
  flags.int4_tiled_min_tokens = f.int4_tiled_min_tokens;
  flags.int4_tiled_max_tokens = f.int4_tiled_max_tokens;
  if (device == "cpu")
    return resolve_cuda_options(
        flags, [](const char*) -> const char* { return nullptr; }, nullptr);
  std::vector<std::string> applied;
  const CudaOptions options = resolve_cuda_options(
      flags, [](const char* name) -> const char* { return std::getenv(name); }, &applied);
  for (const auto& a : applied) log(LogLevel::Warning, "using {} from the environment (a CUDA option's fallback)", a);
  return options;
}

int resolve_session_len(const EngineOptions& engine, const ModelConfig& config) {
  return engine.session_len > 0 ? engine.session_len : config.max_position_embeddings;
}

SamplingParams resolve_sampling(const SamplingOptions& o, const GenerationConfig& gen, const ModelConfig& config,
                                const Tokenizer& tokenizer) {
  SamplingParams p = apply_overrides(o, default_sampling(gen, config, tokenizer));
  p.stop = o.stop;
  p.ignore_eos = o.ignore_eos;
  return p;
}

}  // namespace turbine::cli
