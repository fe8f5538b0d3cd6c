// Host-side sampling of one whole logits row (Sampler::sample_penalized), the step thread's cost
// per row that the device's top candidates cannot serve: plain temperature sampling, and raw rows
// (logprobs, presence/frequency penalties, guided decoding). Two vocabularies (a 32k Llama one,
// Qwen3's 151,936), two shapes of row (normal(0, 3) logits; an LM-like one: a few large logits
// over a long normal(0, 2) tail, most of the mass on the top few), four settings at temperature 1.
// Reported: the median of the rounds, in ms, per call. Then a decode step's batch of 32 such rows
// (151,936 tokens, plain temperature; again with logprobs) through sample_on_device on the CPU
// backend, on the step thread alone and with StepWorkers of 1 and 2 threads (--sampling-threads).
// Usage: sampling_bench [rounds]   (default 31)
#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "engine/device_sampling.h"
#include "engine/sampler.h"
#include "engine/step_workers.h"

using namespace turbine;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<float> normal_row(std::mt19937& rng, size_t v) {
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> x(v);
  for (auto& e : x) e = normal(rng);
  return x;
}

// Twenty tokens 15, 14.5, ... above a normal(0, 2) tail: the top token holds about a third of the
// mass, the twenty nine tenths.
std::vector<float> peaked_row(std::mt19937& rng, size_t v) {
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::uniform_int_distribution<size_t> col(0, v - 1);
  std::vector<float> x(v);
  for (auto& e : x) e = normal(rng);
  for (int r = 0; r < 20; ++r) x[col(rng)] = 15.0f - 0.5f * float(r);
  return x;
}

struct Setting {
  const char* name;
  SamplingParams params;
};

std::vector<Setting> settings() {
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 7;
  std::vector<Setting> out = {{"temperature", p}};
  p.top_p = 0.9f;
  out.push_back({"top_p 0.9", p});
  p.top_p = 1.0f, p.min_p = 0.05f;
  out.push_back({"min_p 0.05", p});
  p.min_p = 0.0f, p.top_k = 40;
  out.push_back({"top_k 40", p});
  return out;
}

// The median time of one sample_penalized call over `rounds` calls (the row copied back each time,
// outside the clock: the call may change it).
double median_ms(const std::vector<float>& row, const SamplingParams& params, int rounds, int64_t& checksum) {
  Sampler sampler(params);
  std::vector<float> work(row.size());
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    std::copy(row.begin(), row.end(), work.begin());
    const auto start = Clock::now();
    checksum += sampler.sample_penalized(work);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

// The median time of sample_on_device over a batch of `rows` rows of `v` tokens (the logits uploaded
// again each round, outside the clock), with `threads` step workers (0: the step thread alone).
double batch_ms(Backend& backend, const SamplingParams& params, int rows, size_t v, int threads, int rounds,
                int64_t& checksum) {
  std::mt19937 rng(3);
  std::vector<float> logits;
  for (int r = 0; r < rows; ++r) {
    const auto row = normal_row(rng, v);
    logits.insert(logits.end(), row.begin(), row.end());
  }
  std::vector<Sampler> samplers;
  for (int r = 0; r < rows; ++r) samplers.emplace_back(params);
  const std::vector<int32_t> history = {1, 2, 3};
  std::vector<SamplingRow> batch;
  for (auto& sampler : samplers) batch.push_back({&sampler, history, history.size()});
  std::unique_ptr<StepWorkers> workers = threads > 0 ? std::make_unique<StepWorkers>(threads) : nullptr;
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    Tensor t = backend.upload(logits.data(), DType::F32, {rows, int64_t(v)}, DType::F32);
    const auto start = Clock::now();
    for (int32_t id : sample_on_device(backend, t, batch, workers.get()).ids) checksum += id;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 31;
  std::mt19937 rng(1);
  int64_t checksum = 0;  // the drawn ids, so that no call is optimised away (and runs compare)
  std::printf("%-8s %-8s %-12s %10s\n", "vocab", "row", "setting", "ms/call");
  for (size_t v : {size_t(32000), size_t(151936)}) {
    for (const char* shape : {"normal", "peaked"}) {
      const auto row = std::string(shape) == "normal" ? normal_row(rng, v) : peaked_row(rng, v);
      for (const auto& s : settings())
        std::printf("%-8zu %-8s %-12s %10.3f\n", v, shape, s.name, median_ms(row, s.params, rounds, checksum));
    }
  }
  BackendOptions options;
  options.threads = 2;
  options.memory_budget = size_t(1) << 30;
  CpuBackend cpu(options);
  SamplingParams plain;
  plain.temperature = 1.0f;
  SamplingParams logprobs = plain;
  logprobs.logprobs = true, logprobs.top_logprobs = 5;
  std::printf("\n%-28s %8s %8s %8s   (ms a step, 32 rows of 151936)\n", "batch", "serial", "1 worker", "2 workers");
  for (const auto& [name, params] :
       {std::pair{"plain temperature", plain}, std::pair{"temperature + logprobs", logprobs}}) {
    const int batch_rounds = std::max(3, rounds / 10);
    double t[3];
    for (int w = 0; w < 3; ++w) t[w] = batch_ms(cpu, params, 32, 151936, w, batch_rounds, checksum);
    std::printf("%-28s %8.1f %8.1f %8.1f\n", name, t[0], t[1], t[2]);
  }
  std::printf("checksum %lld\n", (long long)checksum);
  return 0;
}
