// The random workload of `bench throughput` and `bench serve` (LMDeploy's profile_throughput and
// profile_restful_api): prompts of random token ids, output lengths, and Poisson arrival gaps, all
// drawn from one seed, so both commands given the same arguments run the same requests.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace turbine::cli {

// A MIN:MAX length range in tokens.
struct TokenRange {
  int lo = 0, hi = 0;
};

// Parses "MIN:MAX" with 0 < MIN <= MAX; anything else is a turbine::Error naming `flag`.
TokenRange parse_token_range(const std::string& text, const char* flag);

struct BenchWorkload {
  std::vector<std::vector<int32_t>> prompts;  // token ids, past the usual special ids (0..2)
  std::vector<int> output_lens;               // max new tokens of each request (EOS is ignored)
  std::vector<double> gaps;                   // seconds before each arrival; all 0 when rate is 0

  size_t input_tokens() const;
  size_t output_tokens() const;
};

// Draws `requests` requests for a model of `vocab_size` tokens; `rate` > 0 adds exponential gaps
// (Poisson arrivals at `rate` per second).
BenchWorkload make_bench_workload(int requests, TokenRange input, TokenRange output, double rate, int vocab_size,
                                  uint64_t seed);

// The p-th percentile (0..100) by linear interpolation between the closest ranks; 0 for no values.
double percentile(std::vector<double> values, double p);

}  // namespace turbine::cli
