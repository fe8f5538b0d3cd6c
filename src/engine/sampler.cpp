#include "engine/sampler.h"

#include "core/error.h"
#include "engine/sampling_distribution.h"

namespace turbine {

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
  if (params.temperature < 0) fail("--temperature must be >= 0 (got {})", params.temperature);
  if (params.top_k < 0) fail("--top-k must be >= 0 (got {})", params.top_k);
  if (!(params.top_p > 0 && params.top_p <= 1)) fail("--top-p must be in (0, 1] (got {})", params.top_p);
  if (!(params.min_p >= 0 && params.min_p <= 1)) fail("--min-p must be in [0, 1] (got {})", params.min_p);
  if (!(params.repetition_penalty > 0))
    fail("--repetition-penalty must be > 0 (got {})", params.repetition_penalty);
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  if (logits.empty()) fail("no logits to sample from");
  apply_repetition_penalty(logits, history, params_.repetition_penalty);
  if (params_.temperature == 0.0f) {
    // Greedy: the first maximum, like torch.argmax.
    size_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i)
      if (logits[i] > logits[best]) best = i;
    return int32_t(best);
  }
  const auto dist = sampling_distribution(logits, params_);
  // A uniform draw in [0, 1) walked over the cumulative distribution.
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  double cumulative = 0;
  for (const auto& t : dist) {
    cumulative += t.prob;
    if (u < cumulative) return t.id;
  }
  return dist.back().id;  // rounding left u just past the total
}

}  // namespace turbine
