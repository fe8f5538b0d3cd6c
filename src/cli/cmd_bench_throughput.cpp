// `turbine bench throughput MODEL --requests N --input-len-range A:B --output-len-range C:D
// [--rate R] [--seed S] [--json]` (LMDeploy's profile_throughput): random prompt ids, EOS
// ignored, all requests at once or Poisson arrivals at R per second; reports requests/s, output
// tokens/s, time to first token and inter-token latency percentiles.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "cli/bench_workload.h"
#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/option_checks.h"
#include "cli/options.h"
#include "cli/output.h"
#include "core/error.h"
#include "core/progress_bar.h"
#include "engine/engine.h"
#include "pipeline/model_folder.h"

namespace turbine::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct ThroughputArgs {
  std::string model;
  int requests = 1000;
  std::string input_range = "64:1024";
  std::string output_range = "64:512";
  double rate = 0;  // 0 = all at once
  uint64_t seed = 0;
  bool json = false;
  DeviceOptions device;
  EngineOptions engine;
};

// Timestamps of one request, written by the engine thread, read after it finished.
struct Timeline {
  Clock::time_point submitted;
  std::vector<Clock::time_point> tokens;
  std::atomic<bool> done{false};
};

void run(const ThroughputArgs& args) {
  if (args.requests <= 0) fail("--requests must be positive, got {}", args.requests);
  if (args.rate < 0) fail("--rate must not be negative, got {}", args.rate);
  const TokenRange in_range = parse_token_range(args.input_range, "--input-len-range");
  const TokenRange out_range = parse_token_range(args.output_range, "--output-len-range");
  LoadedModel m = open_model_folder(args.model);
  const EngineOptions engine_flags = with_workspace_tunables(args.engine, m);
  const int context = resolve_session_len(engine_flags, m.config);
  if (in_range.hi + out_range.hi > context)
    fail("--input-len-range/--output-len-range: {} + {} tokens exceed the context of {} (--session-len)", in_range.hi,
         out_range.hi, context);

  // The workload, drawn before anything runs (`bench serve` draws the same one from the same arguments).
  const BenchWorkload w =
      make_bench_workload(args.requests, in_range, out_range, args.rate, m.config.vocab_size, args.seed);
  const std::vector<std::vector<int32_t>>& prompts = w.prompts;

  load_model_weights(m, resolve_backend(args.device, engine_flags));
  Engine engine(*m.model, *m.tokenizer, make_engine_options(engine_flags));
  std::vector<std::unique_ptr<Timeline>> timelines;
  for (int i = 0; i < args.requests; ++i) timelines.push_back(std::make_unique<Timeline>());
  std::vector<RequestHandle> handles;
  std::atomic<int> finished{0};
  ProgressBar progress("requests");
  const auto start = Clock::now();
  auto next_arrival = start;
  for (int i = 0; i < args.requests; ++i) {
    if (args.rate > 0) {
      next_arrival += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(w.gaps[i]));
      std::this_thread::sleep_until(next_arrival);
    }
    SamplingParams p;
    p.max_new_tokens = w.output_lens[i];
    p.ignore_eos = true;
    Timeline* tl = timelines[i].get();
    tl->submitted = Clock::now();
    handles.push_back(engine.submit({prompts[i], p, {}, [tl, &finished](const RequestOutput& out) {
                                       if (out.token) tl->tokens.push_back(Clock::now());
                                       if (out.finished) ++finished;
                                     }}));
    progress.update(size_t(finished.load()), size_t(args.requests));
  }
  while (finished.load() < args.requests) {
    progress.update(size_t(finished.load()), size_t(args.requests));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& h : handles)
    if (const RequestResult r = h.wait(); !r.error.empty()) fail("{}", r.error);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  progress.finish();

  std::vector<double> ttft, itl;
  size_t input_tokens = 0, output_tokens = 0;
  double decode_kv_tokens = 0;  // cached tokens the decode steps attend to: what bounds their KV reads
  for (int i = 0; i < args.requests; ++i) {
    const Timeline& tl = *timelines[i];
    input_tokens += prompts[i].size();
    output_tokens += tl.tokens.size();
    // The first token comes from the prefill; decode token t (1-based) attends to prompt + t tokens.
    const double in = double(prompts[i].size()), decodes = tl.tokens.empty() ? 0.0 : double(tl.tokens.size() - 1);
    decode_kv_tokens += in * decodes + decodes * (decodes + 1) / 2;
    if (tl.tokens.empty()) continue;
    ttft.push_back(std::chrono::duration<double, std::milli>(tl.tokens[0] - tl.submitted).count());
    for (size_t t = 1; t < tl.tokens.size(); ++t)
      itl.push_back(std::chrono::duration<double, std::milli>(tl.tokens[t] - tl.tokens[t - 1]).count());
  }
  const EngineCounters c = engine.counters();
  nlohmann::ordered_json row;
  row["requests"] = args.requests;
  row["rate"] = args.rate;
  row["elapsed_s"] = elapsed;
  row["input_tokens"] = input_tokens;
  row["output_tokens"] = output_tokens;
  row["request_throughput"] = args.requests / elapsed;
  row["output_throughput"] = double(output_tokens) / elapsed;
  row["total_throughput"] = double(input_tokens + output_tokens) / elapsed;
  for (double p : {50.0, 90.0, 99.0}) row[fmt::format("ttft_ms_p{:.0f}", p)] = percentile(ttft, p);
  for (double p : {50.0, 90.0, 99.0}) row[fmt::format("itl_ms_p{:.0f}", p)] = percentile(itl, p);
  row["steps"] = c.steps;
  // The batch the steps carried: whether the KV cache or --max-batch-size bounded it (a quantized
  // cache holds more sequences; it shows here where the unquantized one ran out).
  row["mean_batch"] = c.steps > 0 ? double(c.step_sequences) / double(c.steps) : 0.0;
  row["max_batch"] = c.max_step_sequences;
  row["preemptions"] = c.preemptions;
  row["sampled_full_rows"] = c.sampled_full_rows;  // tokens whose logits row came to the host
  row["kv_blocks"] = engine.num_blocks();
  row["kv_quant"] = std::string(kv_format_name(engine.kv_format()));
  row["decode_kv_tokens"] = decode_kv_tokens;
  // Where the engine loop's time went (the GPU idles during scheduling and committing).
  row["schedule_s"] = c.schedule_seconds;
  row["model_s"] = c.model_seconds;
  row["commit_s"] = c.commit_seconds;
  if (args.json) {
    write_stdout(row.dump() + "\n");
    return;
  }
  std::printf("%-22s %d (%s)\n", "requests", args.requests,
              args.rate > 0 ? fmt::format("Poisson, {} per second", args.rate).c_str() : "all at once");
  std::printf("%-22s %.2f\n", "elapsed (s)", elapsed);
  std::printf("%-22s %zu in, %zu out\n", "tokens", input_tokens, output_tokens);
  std::printf("%-22s %.3f\n", "requests/s", args.requests / elapsed);
  std::printf("%-22s %.1f\n", "output tokens/s", double(output_tokens) / elapsed);
  std::printf("%-22s %.1f\n", "total tokens/s", double(input_tokens + output_tokens) / elapsed);
  std::printf("%-22s %10s %10s %10s\n", "latency (ms)", "p50", "p90", "p99");
  std::printf("%-22s %10.2f %10.2f %10.2f\n", "  first token (TTFT)", percentile(ttft, 50), percentile(ttft, 90),
              percentile(ttft, 99));
  std::printf("%-22s %10.2f %10.2f %10.2f\n", "  inter-token (ITL)", percentile(itl, 50), percentile(itl, 90),
              percentile(itl, 99));
  std::printf("%-22s %llu steps, %llu preemptions, %d KV blocks of %d tokens\n", "engine", (unsigned long long)c.steps,
              (unsigned long long)c.preemptions, engine.num_blocks(), engine.block_len());
  std::printf("%-22s %.1f sequences a step on average, %d at most\n", "batch", row["mean_batch"].get<double>(),
              c.max_step_sequences);
  std::printf("%-22s %.2f s schedule, %.2f s model step, %.2f s commit\n", "engine loop", c.schedule_seconds,
              c.model_seconds, c.commit_seconds);
  finish_stdout();
}

}  // namespace

void register_bench_throughput(CLI::App& bench) {
  auto args = std::make_shared<ThroughputArgs>();
  auto* cmd = bench.add_subcommand("throughput", "Serving throughput: many random requests through the engine");
  cmd->add_option("MODEL", args->model, "model folder")->required();
  cmd->add_option("--requests", args->requests, "number of requests")->capture_default_str()->check(int_at_least(1));
  cmd->add_option("--input-len-range", args->input_range, "prompt length range MIN:MAX")->capture_default_str();
  cmd->add_option("--output-len-range", args->output_range, "output length range MIN:MAX")->capture_default_str();
  cmd->add_option("--rate", args->rate, "requests per second (Poisson arrivals); 0 = all at once")
      ->check(real_at_least(0));
  cmd->add_option("--seed", args->seed, "seed of the random workload")->check(seed_value());
  cmd->add_flag("--json", args->json, "one JSON object instead of the table");
  add_device_options(*cmd, args->device);
  add_engine_options(*cmd, args->engine);
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
