// CPU decode throughput on a real model: prefill 128 tokens, then 256 greedy-free decode steps
// (the next token is fixed, so only the forward pass is timed), at batch 1 and batch 8.
// Usage: cpu_decode_bench [model_dir=models/kjv-llama] [threads=0 (all cores)]
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <exception>

#include "backend/backend.h"
#include "model/checkpoint.h"
#include "model/llama_model.h"
#include "model/model_config.h"

namespace {

using namespace turbine;
using Clock = std::chrono::steady_clock;

constexpr int kPrompt = 128, kDecode = 256, kBlockLen = 16;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds of the whole process (all threads): on a shared machine, wall time alone misleads.
double process_cpu_seconds() { return double(std::clock()) / CLOCKS_PER_SEC; }

void run(LlamaModel& model, Backend& backend, int batch) {
  const int per_seq = (kPrompt + kDecode + kBlockLen - 1) / kBlockLen;
  KvCache cache = backend.allocate_kv_cache(model.kv_cache_spec(batch * per_seq, kBlockLen));
  auto table = [&](int s) {
    std::vector<int32_t> t(per_seq);
    for (int i = 0; i < per_seq; ++i) t[i] = s * per_seq + i;
    return t;
  };
  BatchInput prefill;
  for (int s = 0; s < batch; ++s) {
    for (int i = 0; i < kPrompt; ++i) prefill.token_ids.push_back(100 + (i * 7 + s) % 5000);
    prefill.sequences.push_back({0, kPrompt, table(s), false});
  }
  auto t0 = Clock::now();
  backend.download_f32(model.forward(prefill, cache));
  const double prefill_s = seconds_since(t0);

  t0 = Clock::now();
  const double cpu0 = process_cpu_seconds();
  for (int step = 0; step < kDecode; ++step) {
    BatchInput in;
    for (int s = 0; s < batch; ++s) {
      in.token_ids.push_back(200 + (step * 13 + s) % 5000);
      in.sequences.push_back({kPrompt + step, 1, table(s), false});
    }
    backend.download_f32(model.forward(in, cache));
  }
  const double decode_s = seconds_since(t0), decode_cpu = process_cpu_seconds() - cpu0;
  fmt::print(
      "batch {}: prefill {} tokens in {:.3f} s ({:.0f} tok/s); decode {} steps in {:.3f} s: "
      "{:.1f} tok/s ({:.2f} ms/step, {:.2f} cpu-ms/step)\n",
      batch, batch * kPrompt, prefill_s, batch * kPrompt / prefill_s, kDecode, decode_s, batch * kDecode / decode_s,
      1e3 * decode_s / kDecode, 1e3 * decode_cpu / kDecode);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string dir = argc > 1 ? argv[1] : "models/kjv-llama";
    BackendOptions options;
    options.threads = argc > 2 ? std::atoi(argv[2]) : 0;
    const ModelConfig config = load_model_config(dir);
    const Checkpoint checkpoint = Checkpoint::open(dir);
    auto backend = make_backend(options);
    LlamaModel model(config, checkpoint, *backend);
    fmt::print("model {} ({} layers, hidden {}, vocab {}), cpu backend\n", dir, config.num_layers, config.hidden_size,
               config.vocab_size);
    for (int batch : {1, 8}) run(model, *backend, batch);
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
