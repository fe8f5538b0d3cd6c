// Picks the next token from one sequence's logits: repetition penalty, temperature, top-k,
// top-p, min-p, then a seeded draw (or argmax when temperature is 0).
#pragma once
#include <cstdint>
#include <random>
#include <span>

#include "engine/sampling_params.h"

namespace turbine {

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // logits [vocab] may be modified in place; history = prompt + generated ids (for the penalty).
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
};

}  // namespace turbine
