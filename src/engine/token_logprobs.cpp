#include "engine/token_logprobs.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace turbine {

TokenLogprobs token_logprobs(std::span<const float> logits, int32_t chosen, int top_n) {
  if (chosen < 0 || size_t(chosen) >= logits.size()) fail("token_logprobs: id {} outside the row", chosen);
  // log_softmax(x)_i = x_i - (max + log(sum exp(x - max))), summed in double for a stable normaliser.
  double max = -INFINITY;
  for (float x : logits)
    if (!std::isnan(x)) max = std::max(max, double(x));
  double sum = 0;
  if (std::isfinite(max))
    for (float x : logits)
      if (!std::isnan(x)) sum += std::exp(double(x) - max);
  // A +inf logit takes all the mass: the +inf tokens share it (as the samplers draw them).
  const double infinite = max == INFINITY ? double(std::count(logits.begin(), logits.end(), INFINITY)) : 0.0;
  const double log_z = max + std::log(sum);
  const auto logprob = [&](int32_t id) {
    const float x = logits[id];
    if (infinite > 0) return x == INFINITY ? float(-std::log(infinite)) : -INFINITY;
    if (std::isnan(x) || !std::isfinite(log_z)) return -INFINITY;
    return float(double(x) - log_z);
  };
  TokenLogprobs out;
  out.chosen = {chosen, logprob(chosen)};
  const size_t n = std::min(size_t(std::max(top_n, 0)), logits.size());
  if (n == 0) return out;
  std::vector<int32_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(i);
  const auto value = [&](int32_t id) { return std::isnan(logits[id]) ? -INFINITY : logits[id]; };
  std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [&](int32_t a, int32_t b) {
    const float va = value(a), vb = value(b);
    return va > vb || (va == vb && a < b);
  });
  out.top.reserve(n);
  for (size_t i = 0; i < n; ++i) out.top.push_back({ids[i], logprob(ids[i])});
  return out;
}

}  // namespace turbine
