// Host-side sampling of one whole logits row (Sampler::sample_penalized), the step thread's cost
// per row that the device's top candidates cannot serve: plain temperature sampling, and raw rows
// (logprobs, presence/frequency penalties, guided decoding). Two vocabularies (a 32k Llama one,
// Qwen3's 151,936), two shapes of row (normal(0, 3) logits; an LM-like one: a few large logits
// over a long normal(0, 2) tail, most of the mass on the top few), four settings at temperature 1.
// Reported: the median of the rounds, in ms, per call.
// Usage: sampling_bench [rounds]   (default 31)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engine/sampler.h"

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
  std::printf("checksum %lld\n", (long long)checksum);
  return 0;
}
