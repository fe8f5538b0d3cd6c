#include "engine/sampling_distribution.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "engine/sorted_mass.h"

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

namespace {

// Far wider than the error of log and exp (an ulp or two): outside it the logarithms decide.
constexpr double kLogMargin = 1e-9;

// The largest logit, NaN skipped. Four running maxima: one would chain every element on the one
// before (~4 cycles each, a quarter of a millisecond at 151,936 tokens).
float row_max(std::span<const float> logits) {
  float m[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  size_t i = 0;
  for (; i + 4 <= logits.size(); i += 4)
    for (size_t j = 0; j < 4; ++j) m[j] = logits[i + j] > m[j] ? logits[i + j] : m[j];
  for (; i < logits.size(); ++i) m[0] = logits[i] > m[0] ? logits[i] : m[0];
  return std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
}

// finish_distribution's top-p and min-p over candidates in no particular order, keeping the same
// tokens (up to double rounding at the thresholds) in O(n) expected instead of a sort.
void keep_top_p_min_p(std::vector<ScaledLogit>& cand, double top, const SamplingParams& params) {
  // Top-p keeps the sorted order down to the first token where the running mass from the top
  // reaches the total less 1 - top_p of it: what stays below is at most 1 - top_p, as
  // finish_distribution's walk from the least likely token up decides.
  std::optional<ScaledLogit> last;
  if (params.top_p < 1.0f) {
    const SortedMass mass(cand, top);
    const double tail = (1.0 - double(params.top_p)) * mass.total();
    last = mass.locate(mass.total() - tail, /*inclusive=*/true);
  }
  // Min-p keeps the weights exp(logit - top) >= min_p (the top token's is 1, and the ratio of two
  // probabilities is that of their weights, before top-p or after). The logarithm spares most
  // tokens the exp; near the threshold the exp decides, as there.
  const double min_p = double(params.min_p);
  const double log_min_p = min_p > 0 ? std::log(min_p) : -INFINITY;
  auto below_min_p = [&](const ScaledLogit& c) {
    const double d = c.logit - top;
    if (d > log_min_p + kLogMargin) return false;
    if (d < log_min_p - kLogMargin) return true;
    return std::exp(d) < min_p;
  };
  std::erase_if(cand, [&](const ScaledLogit& c) { return (last && sorts_before(*last, c)) || below_min_p(c); });
}

}  // namespace

ScaledCandidates scaled_candidates(std::span<const float> logits, const SamplingParams& params) {
  if (!(params.temperature > 0)) fail("sampling_distribution needs a positive temperature");
  ScaledCandidates out;
  auto& cand = out.tokens;
  cand.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i]) || logits[i] == -INFINITY) continue;
    cand.push_back({int32_t(i), double(logits[i]) / params.temperature});
  }
  if (cand.empty()) fail("every logit is -inf or NaN: nothing to sample");
  // A +inf logit takes all the mass (the limit of a logit that grows without bound): the +inf tokens
  // share it equally, whatever the temperature, so they stand in as equal finite logits.
  const float max = row_max(logits);
  if (max == INFINITY) {
    std::erase_if(cand, [](const ScaledLogit& c) { return c.logit != INFINITY; });
    for (ScaledLogit& c : cand) c.logit = 0.0;
  }

  // Top-k keeps every token whose logit is at least the k-th largest (ties at the edge stay, as in HF).
  if (params.top_k > 0 && size_t(params.top_k) < cand.size()) {
    std::nth_element(cand.begin(), cand.begin() + (params.top_k - 1), cand.end(), sorts_before);
    const double kth = cand[params.top_k - 1].logit;
    const size_t before = cand.size();
    std::erase_if(cand, [&](const ScaledLogit& c) { return c.logit < kth; });
    out.top_k_cut = cand.size() < before;
  }
  // After a cut, or among +inf tokens, the few left are searched, else the row (the division keeps
  // the order).
  out.top = out.top_k_cut || max == INFINITY ? std::min_element(cand.begin(), cand.end(), sorts_before)->logit
                                             : double(max) / params.temperature;
  return out;
}

bool plain_temperature(const ScaledCandidates& cand, const SamplingParams& params) {
  // A set top-k cut keeps the sorting path, which the candidate path mirrors to the bit.
  return params.top_p >= 1.0f && params.min_p <= 0.0f && !cand.top_k_cut;
}

std::vector<TokenProb> distribution_of(ScaledCandidates cand, const SamplingParams& params) {
  // A set top-k cut is sorted whole (the candidate path mirrors it to the bit), as is a row only the
  // temperature shapes: all of it stays.
  const bool cut_first = (params.top_p < 1.0f || params.min_p > 0.0f) && !cand.top_k_cut;
  if (!cut_first) {
    std::sort(cand.tokens.begin(), cand.tokens.end(), sorts_before);
    return finish_distribution(std::move(cand.tokens), params);
  }
  // Top-p and min-p cut the unsorted row; only what they keep is sorted.
  keep_top_p_min_p(cand.tokens, cand.top, params);
  std::sort(cand.tokens.begin(), cand.tokens.end(), sorts_before);
  SamplingParams rest = params;
  rest.top_p = 1.0f, rest.min_p = 0.0f;  // done: what remains is the renormalisation
  return finish_distribution(std::move(cand.tokens), rest);
}

std::vector<TokenProb> sampling_distribution(std::span<const float> logits, const SamplingParams& params) {
  return distribution_of(scaled_candidates(logits, params), params);
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
