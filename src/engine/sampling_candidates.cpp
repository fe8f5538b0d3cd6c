#include "engine/sampling_candidates.h"

#include <cmath>

#include "backend/backend.h"
#include "core/error.h"

namespace turbine {

namespace {

// A top-p decision whose cumulative probability lies this close to top_p is left to the full
// row: the device's fp32 normaliser is good to ~1e-6, the full path's double sum far better.
constexpr double kTopPMargin = 1e-4;
// Min-p compares exp(l_i - l_0) with min_p here and p_i with min_p * p_0 on the full row: the
// same up to a few double roundings.
constexpr double kMinPMargin = 1e-9;

}  // namespace

int candidates_needed(const SamplingParams& params) {
  if (params.temperature == 0.0f) return 0;
  // One more than top_k shows whether ties at the k-th value continue past the fetched ones.
  if (params.top_k > 0) return params.top_k < kMaxTopCandidates ? params.top_k + 1 : 0;
  if (params.top_p < 1.0f || params.min_p > 0.0f) return kDefaultCandidates;
  return 0;
}

std::optional<std::vector<TokenProb>> candidate_distribution(const CandidateRow& row, const SamplingParams& params) {
  if (!(params.temperature > 0)) fail("candidate_distribution needs a positive temperature");
  if (row.ids.size() != row.values.size()) fail("candidate_distribution: ids and values differ in length");
  // The full path skips NaN and -inf; they sort after every other value, so the rest is a prefix.
  const size_t fetched = row.ids.size();
  size_t n = 0;
  while (n < fetched && !std::isnan(row.values[n]) && row.values[n] != -INFINITY) ++n;
  if (n == 0) return std::nullopt;  // nothing to sample: the full path reports it
  // A +inf logit takes all the mass and makes the normaliser +inf: the full path shares it out.
  if (row.values[0] == INFINITY) return std::nullopt;
  // Every token the full path would consider is a candidate.
  const bool complete = row.whole_row || n < fetched;

  std::vector<ScaledLogit> cand(n);
  for (size_t i = 0; i < n; ++i) cand[i] = {row.ids[i], double(row.values[i]) / params.temperature};

  if (params.top_k > 0) {
    if (size_t(params.top_k) < n) {
      // Top-k keeps every logit >= the k-th: all among the candidates unless the last one ties it.
      const double kth = cand[params.top_k - 1].logit;
      if (!complete && cand.back().logit == kth) return std::nullopt;
      size_t keep = params.top_k;
      while (keep < n && cand[keep].logit == kth) ++keep;
      cand.resize(keep);
    } else if (!complete) {
      return std::nullopt;
    }
    return finish_distribution(std::move(cand), params);  // exactly the full path's top-k set
  }
  if (complete) return finish_distribution(std::move(cand), params);

  // Some tokens were not fetched: top-p and min-p need the row's normaliser.
  if (params.top_p >= 1.0f && params.min_p <= 0.0f) return std::nullopt;
  const double z = row.sum_exp;
  if (!std::isfinite(z) || z < 1.0) return std::nullopt;  // the top token alone gives exp(0) = 1
  SamplingParams rest = params;
  if (params.top_p < 1.0f) {
    // The full path keeps the shortest head whose probability reaches top_p (its tail, counted
    // from the least likely up, stays at or below 1 - top_p).
    const double top_p = double(params.top_p);
    double head = 0;
    size_t keep = 0;
    for (size_t i = 0; i < n; ++i) {
      head += std::exp(cand[i].logit - cand[0].logit) / z;
      if (std::abs(head - top_p) <= kTopPMargin) return std::nullopt;
      if (head > top_p) {
        keep = i + 1;
        break;
      }
    }
    if (keep == 0) return std::nullopt;  // the head reaching top_p runs past the candidates
    cand.resize(keep);
    rest.top_p = 1.0f;  // done: min-p and the renormalisation now run over exactly these tokens
  } else {
    // Min-p over the whole row: tokens with exp(l_i - l_0) >= min_p stay; the first below ends it.
    const double min_p = double(params.min_p);
    size_t keep = 0;
    for (size_t i = 1; i < n; ++i) {
      const double ratio = std::exp(cand[i].logit - cand[0].logit);
      if (std::abs(ratio - min_p) <= kMinPMargin * min_p) return std::nullopt;
      if (ratio < min_p) {
        keep = i;
        break;
      }
    }
    if (keep == 0) return std::nullopt;  // survivors may continue past the candidates
    cand.resize(keep);
    rest.min_p = 0.0f;
  }
  return finish_distribution(std::move(cand), rest);
}

}  // namespace turbine
