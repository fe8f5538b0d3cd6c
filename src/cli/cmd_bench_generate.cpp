// `turbine bench generate`: LMDeploy's profile_generation. For each batch size, random prompts of
// --input-len tokens are prefilled together and decoded greedily for --output-len tokens
// (EOS ignored), stepping the model directly (decode steps as recorded graphs where the backend has
// them, as in the engine: engine/decode_graphs.h). Reports decode throughput (batch x decode
// tokens / decode time, prefill excluded: llama-batched-bench's S_TG), end-to-end throughput,
// first-token latency, per-token (decode step) latency percentiles and peak device memory.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <sstream>

#include "backend/backend.h"
#include "cli/commands.h"
#include "cli/option_checks.h"
#include "cli/options.h"
#include "cli/output.h"
#include "core/error.h"
#include "engine/decode_graphs.h"
#include "model/checkpoint.h"
#include "model/llama_model.h"
#include "model/model_config.h"
#include "pipeline/model_folder.h"

namespace turbine::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string model;
  std::string batches = "1,16,64";
  int input_len = 128;
  int output_len = 256;
  int warmup = 1;
  int rounds = 1;
  int block_len = 64;
  std::string kv_quant = "none";
  int seed = 0;
  bool json = false;
  std::string device;
  int threads = 0;  // cpu worker threads (0 = all cores)
  int tp = 0;       // tensor-parallel ranks (0: a workspace's, else 1)
  std::string dtype;
  std::string lm_head_quant = "none";
  std::string step_log;  // CSV of every timed decode step (where the percentiles come from)
  CudaFlags cuda;
  CpuFlags cpu;
};

struct BenchRow {
  int batch = 0;
  double decode_tps = 0, e2e_tps = 0;
  std::vector<double> first_token_ms, step_ms;
  double peak_gib = 0;
};

std::vector<int> parse_batches(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      const int b = std::stoi(item, &used);
      if (used != item.size() || b <= 0) throw std::invalid_argument(item);
      out.push_back(b);
    } catch (const std::exception&) {
      fail("--batch: '{}' is not a positive integer (expected a list such as 1,16,64)", item);
    }
  }
  if (out.empty()) fail("--batch: no batch sizes given");
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * double(v.size() - 1);
  const size_t lo = size_t(pos), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

double used_gib(const Backend& backend) { return double(backend.used_memory()) / double(1 << 30); }

// One round: prefill all prompts together, then output_len - 1 decode steps of one token each.
void run_round(LlamaModel& model, DecodeGraphs& graphs, KvCache& cache,
               const std::vector<std::vector<int32_t>>& prompts, const BenchOptions& o, BenchRow* row) {
  Backend& backend = model.backend();
  const int B = int(prompts.size());
  const int per_seq = (o.input_len + o.output_len + o.block_len - 1) / o.block_len;
  backend.synchronize();
  const auto start = Clock::now();
  BatchInput in;
  for (int s = 0; s < B; ++s) {
    SequenceInput seq;
    seq.num_tokens = o.input_len;
    for (int b = 0; b < per_seq; ++b) seq.block_table.push_back(s * per_seq + b);
    in.sequences.push_back(std::move(seq));
    in.token_ids.insert(in.token_ids.end(), prompts[s].begin(), prompts[s].end());
  }
  // Greedy next ids on the backend: only the ids cross to the host.
  std::vector<int32_t> next = backend.argmax_rows(graphs.forward(in, cache));
  const auto first = Clock::now();
  std::vector<double> steps;
  for (int step = 1; step < o.output_len; ++step) {
    const auto t0 = Clock::now();
    for (int s = 0; s < B; ++s) {
      in.sequences[s].context_len = o.input_len + step - 1;
      in.sequences[s].num_tokens = 1;
    }
    in.token_ids = next;
    next = backend.argmax_rows(graphs.forward(in, cache));
    steps.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  const auto end = Clock::now();
  if (!row) return;
  const double first_ms = std::chrono::duration<double, std::milli>(first - start).count();
  const double decode_s = std::chrono::duration<double>(end - first).count();
  const double total_s = std::chrono::duration<double>(end - start).count();
  row->first_token_ms.push_back(first_ms);
  row->step_ms.insert(row->step_ms.end(), steps.begin(), steps.end());
  // Averaged over rounds by summing token counts and times.
  row->decode_tps += decode_s > 0 ? double(B) * (o.output_len - 1) / decode_s / o.rounds : 0.0;
  row->e2e_tps += double(B) * o.output_len / total_s / o.rounds;
}

void print_table(const std::vector<BenchRow>& rows, const BenchOptions& o, const std::string& device) {
  std::printf("turbine bench generate: %s on %s, input %d, output %d tokens (greedy, EOS ignored)\n", o.model.c_str(),
              device.c_str(), o.input_len, o.output_len);
  std::printf("%6s %14s %14s %16s %26s %10s\n", "batch", "decode tok/s", "e2e tok/s", "first token ms",
              "per-token ms p50/p90/p99", "peak GiB");
  for (const auto& r : rows) {
    char lat[64];
    std::snprintf(lat, sizeof lat, "%.2f/%.2f/%.2f", percentile(r.step_ms, 50), percentile(r.step_ms, 90),
                  percentile(r.step_ms, 99));
    std::printf("%6d %14.1f %14.1f %16.2f %26s %10.2f\n", r.batch, r.decode_tps, r.e2e_tps,
                percentile(r.first_token_ms, 50), lat, r.peak_gib);
  }
}

void print_json(const std::vector<BenchRow>& rows, const BenchOptions& o, const std::string& device,
                const std::string& dtype) {
  for (const auto& r : rows) {
    nlohmann::json j = {
        {"batch", r.batch},
        {"input_len", o.input_len},
        {"output_len", o.output_len},
        {"device", device},
        {"dtype", dtype},
        {"lm_head_quant", o.lm_head_quant},
        {"decode_throughput", r.decode_tps},
        {"end_to_end_throughput", r.e2e_tps},
        {"first_token_latency_ms",
         {{"p50", percentile(r.first_token_ms, 50)},
          {"p90", percentile(r.first_token_ms, 90)},
          {"p99", percentile(r.first_token_ms, 99)}}},
        {"per_token_latency_ms",
         {{"p50", percentile(r.step_ms, 50)}, {"p90", percentile(r.step_ms, 90)}, {"p99", percentile(r.step_ms, 99)}}},
        {"peak_memory_gib", r.peak_gib},
    };
    write_stdout(j.dump() + "\n");
  }
}

// One line per timed decode step: the batch, the context the step's token attends to, and its time.
void append_step_log(std::FILE* f, const BenchRow& row, const BenchOptions& o) {
  const size_t per_round = size_t(std::max(o.output_len - 1, 1));
  for (size_t i = 0; i < row.step_ms.size(); ++i)
    std::fprintf(f, "%d,%zu,%zu,%.4f\n", row.batch, i / per_round, o.input_len + i % per_round + 1, row.step_ms[i]);
}

void run_bench(const BenchOptions& o) {
  if (o.input_len < 1) fail("--input-len must be at least 1, got {}", o.input_len);
  if (o.output_len < 1) fail("--output-len must be at least 1, got {}", o.output_len);
  if (o.warmup < 0) fail("--warmup must be >= 0, got {}", o.warmup);
  if (o.rounds < 1) fail("--rounds must be at least 1, got {}", o.rounds);
  if (o.block_len < 1) fail("--cache-block-seq-len must be at least 1, got {}", o.block_len);
  const std::vector<int> batches = parse_batches(o.batches);
  const KvFormat kv_format = parse_kv_format(o.kv_quant);
  // Opened before the (long) model load, so a bad path fails at once.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> step_log(nullptr, &std::fclose);
  if (!o.step_log.empty()) {
    step_log.reset(std::fopen(o.step_log.c_str(), "w"));
    if (!step_log) fail("--step-log: cannot write {}", o.step_log);
    std::fprintf(step_log.get(), "batch,round,context,ms\n");
  }
  LoadedModel m = open_model_folder(o.model);  // a Hugging Face folder or a workspace
  const ModelConfig& config = m.config;
  if (int64_t(o.input_len) + o.output_len > config.max_position_embeddings)
    fail(
        "--input-len {} + --output-len {} = {} tokens, longer than the model's context of {} tokens "
        "(max_position_embeddings)",
        o.input_len, o.output_len, int64_t(o.input_len) + o.output_len, config.max_position_embeddings);
  BackendOptions bo;
  bo.device = o.device.empty() ? (cuda_available() ? "cuda" : "cpu") : o.device;
  const bool gpu = bo.device != "cpu";
  if (!gpu && !o.dtype.empty() && parse_dtype(o.dtype) != DType::F32)
    fail("--dtype {}: the cpu backend computes in float32 (leave the flag out, or give fp32)", o.dtype);

  bo.dtype = !o.dtype.empty() ? parse_dtype(o.dtype) : gpu ? config.dtype : DType::F32;
  if (gpu && bo.dtype == DType::F32) bo.dtype = DType::BF16;  // fp32 checkpoints: bf16 on the GPU
  bo.cuda = resolve_cuda(o.cuda, bo.device);
  bo.cpu = resolve_cpu(o.cpu);
  bo.lm_head_int4 = o.lm_head_quant == "int4";
  bo.threads = o.threads;
  bo.tp = o.tp;
  std::fprintf(stderr, "loading %s on %s (%s)...\n", o.model.c_str(), bo.device.c_str(),
               std::string(dtype_name(bo.dtype)).c_str());
  load_model_weights(m, bo);
  LlamaModel& model = *m.model;
  Backend* backend = m.backend.get();

  std::mt19937 rng(o.seed);
  std::uniform_int_distribution<int32_t> token(0, config.vocab_size - 1);
  std::vector<BenchRow> rows;
  for (int B : batches) {
    const int per_seq = (o.input_len + o.output_len + o.block_len - 1) / o.block_len;
    KvCache cache = model.allocate_kv_cache(B * per_seq, o.block_len, kv_format);
    DecodeGraphs graphs(model);  // recordings of this cache only (freed with it)
    std::vector<std::vector<int32_t>> prompts(B, std::vector<int32_t>(o.input_len));
    for (auto& p : prompts)
      for (auto& id : p) id = token(rng);
    for (int w = 0; w < o.warmup; ++w) run_round(model, graphs, cache, prompts, o, nullptr);
    BenchRow row;
    row.batch = B;
    for (int r = 0; r < o.rounds; ++r) run_round(model, graphs, cache, prompts, o, &row);
    row.peak_gib = used_gib(*backend);
    if (step_log) append_step_log(step_log.get(), row, o);
    rows.push_back(row);
    std::fprintf(stderr, "batch %d: decode %.1f tok/s\n", B, row.decode_tps);
  }
  if (o.json)
    print_json(rows, o, backend->name(), std::string(dtype_name(backend->compute_dtype())));
  else
    print_table(rows, o, backend->name());
  finish_stdout();
}

}  // namespace

void register_bench_generate(CLI::App& bench) {
  auto opts = std::make_shared<BenchOptions>();
  auto* cmd = bench.add_subcommand("generate", "Static-batch generation speed (LMDeploy's profile_generation)");
  cmd->add_option("model", opts->model, "Model folder (Hugging Face layout) or workspace")->required();
  cmd->add_option("--batch", opts->batches, "Comma-separated batch sizes")->capture_default_str();
  cmd->add_option("--input-len", opts->input_len, "Prompt tokens per sequence")
      ->capture_default_str()
      ->check(int_at_least(1));
  cmd->add_option("--output-len", opts->output_len, "Generated tokens per sequence")
      ->capture_default_str()
      ->check(int_at_least(1));
  cmd->add_option("--warmup", opts->warmup, "Untimed rounds before measuring")
      ->capture_default_str()
      ->check(int_at_least(0));
  cmd->add_option("--rounds", opts->rounds, "Timed rounds per batch size")
      ->capture_default_str()
      ->check(int_at_least(1));
  cmd->add_option("--cache-block-seq-len", opts->block_len, "Tokens per KV block")
      ->capture_default_str()
      ->check(int_at_least(1));
  add_kv_quant_option(*cmd, opts->kv_quant);
  cmd->add_option("--seed", opts->seed, "Seed of the random prompt ids")->capture_default_str()->check(int_at_least(0));
  cmd->add_flag("--json", opts->json, "One JSON object per batch size");
  cmd->add_option("--step-log", opts->step_log, "Write every timed decode step's time to this CSV file");
  cmd->add_option("--device", opts->device, "cpu, cuda or cuda:N (default: cuda when present)");
  cmd->add_option("--threads", opts->threads, "CPU worker threads (0 = all cores)")->check(int_at_least(0));
  cmd->add_option("--tp", opts->tp, "tensor-parallel ranks (GPUs, or CPU threads sharing the cores)")
      ->check(int_at_least(1));
  cmd->add_option("--dtype", opts->dtype, "Compute dtype (default: the checkpoint's on the GPU, fp32 on the CPU)");
  add_lm_head_option(*cmd, opts->lm_head_quant);
  add_cuda_options(*cmd, opts->cuda);
  add_cpu_options(*cmd, opts->cpu);
  cmd->callback([opts] { run_bench(*opts); });
}

}  // namespace turbine::cli
