#include "cli/bench_workload.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "core/error.h"

namespace turbine::cli {

TokenRange parse_token_range(const std::string& text, const char* flag) {
  TokenRange r;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%d:%d%c", &r.lo, &r.hi, &extra) != 2 || r.lo <= 0 || r.hi < r.lo)
    fail("{}: expected MIN:MAX with 0 < MIN <= MAX, got '{}'", flag, text);
  return r;
}

size_t BenchWorkload::input_tokens() const {
  size_t n = 0;
  for (const auto& p : prompts) n += p.size();
  return n;
}

size_t BenchWorkload::output_tokens() const {
  return std::accumulate(output_lens.begin(), output_lens.end(), size_t{0});
}

BenchWorkload make_bench_workload(int requests, TokenRange input, TokenRange output, double rate, int vocab_size,
                                  uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> token(std::min(vocab_size - 1, 3), vocab_size - 1);  // past the specials
  BenchWorkload w;
  w.prompts.resize(size_t(requests));
  w.output_lens.resize(size_t(requests));
  w.gaps.assign(size_t(requests), 0.0);
  for (size_t i = 0; i < size_t(requests); ++i) {
    const int n = std::uniform_int_distribution<int>(input.lo, input.hi)(rng);
    w.prompts[i].reserve(size_t(n));
    for (int t = 0; t < n; ++t) w.prompts[i].push_back(token(rng));
    w.output_lens[i] = std::uniform_int_distribution<int>(output.lo, output.hi)(rng);
    if (rate > 0) w.gaps[i] = std::exponential_distribution<double>(rate)(rng);
  }
  return w;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * double(v.size() - 1);
  const size_t lo = size_t(std::floor(rank)), hi = size_t(std::ceil(rank));
  return v[lo] + (v[hi] - v[lo]) * (rank - double(lo));
}

}  // namespace turbine::cli
