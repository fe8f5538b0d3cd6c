// Sampling from a row's largest logits instead of the whole row: the device hands out the top
// candidates and the softmax normaliser (Backend::top_candidates); these functions decide
// whether they cover the distribution and, when they do, give exactly the numbers the full-row
// path (sampling_distribution) gives, so the draw picks the same token.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/sampling_distribution.h"
#include "engine/sampling_params.h"

namespace turbine {

// One row's candidates as the backend returned them (ids/values sorted by value descending,
// NaN after -inf, ties by lower id) and the row's sum of exp((x - max) / temperature).
struct CandidateRow {
  std::span<const int32_t> ids;
  std::span<const float> values;
  float sum_exp = 0.0f;
  bool whole_row = false;  // the candidates are every token of the row
};

// Candidates fetched for top-p / min-p without top-k.
constexpr int kDefaultCandidates = 256;

// How many candidates a row sampled with `params` needs; 0 when candidates cannot serve
// (greedy, plain temperature sampling, a top-k too large to fetch). The repetition penalty
// does not matter: it is applied to the logits before the candidates are taken.
int candidates_needed(const SamplingParams& params);

// sampling_distribution over the full row, computed from its candidates; nullopt when they may
// not cover it (ties at the top-k edge past the last candidate, a top-p mass or min-p cut beyond
// them, or a top-p/min-p decision too close to call with the device's fp32 normaliser).
// The row's values already carry the repetition penalty; params.repetition_penalty is ignored.
std::optional<std::vector<TokenProb>> candidate_distribution(const CandidateRow& row, const SamplingParams& params);

}  // namespace turbine
