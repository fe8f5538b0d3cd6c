#include "engine/sampling_distribution.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"

namespace turbine {

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> history, float penalty) {
  if (penalty == 1.0f) return;
  std::unordered_set<int32_t> seen;
  for (int32_t id : history) {
    if (id < 0 || size_t(id) >= logits.size() || !seen.insert(id).second) continue;
    float& x = logits[id];
    x = x > 0 ? x / penalty : x * penalty;
  }
}

void apply_presence_frequency_penalty(std::span<float> logits, std::span<const int32_t> generated, float presence,
                                      float frequency) {
  if (presence == 0.0f && frequency == 0.0f) return;
  std::unordered_map<int32_t, int> counts;
  for (int32_t id : generated)
    if (id >= 0 && size_t(id) < logits.size()) ++counts[id];
  for (const auto& [id, count] : counts) logits[id] -= presence + frequency * float(count);
}

std::vector<int32_t> penalty_ids(std::span<const int32_t> history, int64_t vocab) {
  std::vector<int32_t> ids;
  for (int32_t id : history)
    if (id >= 0 && id < vocab) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<TokenProb> sampling_distribution(std::span<const float> logits, const SamplingParams& params) {
  if (!(params.temperature > 0)) fail("sampling_distribution needs a positive temperature");
  using Candidate = ScaledLogit;
  std::vector<Candidate> cand;
  cand.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i]) || logits[i] == -INFINITY) continue;
    cand.push_back({int32_t(i), double(logits[i]) / params.temperature});
  }
  if (cand.empty()) fail("every logit is -inf or NaN: nothing to sample");
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };

  // Top-k keeps every token whose logit is at least the k-th largest (ties at the edge stay, as in HF).
  if (params.top_k > 0 && size_t(params.top_k) < cand.size()) {
    std::nth_element(cand.begin(), cand.begin() + (params.top_k - 1), cand.end(), by_logit);
    const double kth = cand[params.top_k - 1].logit;
    std::erase_if(cand, [&](const Candidate& c) { return c.logit < kth; });
  }
  std::sort(cand.begin(), cand.end(), by_logit);
  return finish_distribution(std::move(cand), params);
}

std::vector<TokenProb> finish_distribution(std::vector<ScaledLogit> cand, const SamplingParams& params) {
  if (cand.empty()) fail("finish_distribution: no candidates");
  auto softmax = [&] {
    std::vector<double> p(cand.size());
    double sum = 0;
    for (size_t i = 0; i < cand.size(); ++i) sum += p[i] = std::exp(cand[i].logit - cand[0].logit);
    for (auto& x : p) x /= sum;
    return p;
  };

  // Top-p drops the least likely tokens while their cumulative probability (counted from the
  // least likely up) stays at or below 1 - top_p; the most likely token always stays.
  if (params.top_p < 1.0f) {
    const auto p = softmax();
    double cumulative = 0;
    size_t keep = cand.size();
    for (size_t i = cand.size(); i-- > 1;) {
      cumulative += p[i];
      if (cumulative <= 1.0 - double(params.top_p))
        keep = i;
      else
        break;
    }
    cand.resize(keep);
  }

  // Min-p drops tokens whose probability is below min_p times the top token's.
  if (params.min_p > 0.0f) {
    const auto p = softmax();
    const double threshold = double(params.min_p) * p[0];
    size_t keep = 1;
    while (keep < cand.size() && p[keep] >= threshold) ++keep;
    cand.resize(keep);
  }

  const auto p = softmax();
  std::vector<TokenProb> out(cand.size());
  for (size_t i = 0; i < cand.size(); ++i) out[i] = {cand[i].id, p[i]};
  return out;
}

}  // namespace turbine
