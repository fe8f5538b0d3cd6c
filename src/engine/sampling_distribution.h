// The distribution a Sampler draws from, step by step in Hugging Face's order: repetition
// penalty (then OpenAI's presence/frequency penalties), temperature, top-k, top-p, min-p. Kept apart
// from the draw so tests can check it.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "engine/sampling_params.h"

namespace turbine {

struct TokenProb {
  int32_t id = 0;
  double prob = 0.0;
};

// A candidate token with its logit divided by the temperature.
struct ScaledLogit {
  int32_t id = 0;
  double logit = 0.0;
};

// The order of a sorted distribution: higher logit first, ties by lower id. A lambda, not a
// function: std::sort and nth_element inline it, where a function pointer is called per comparison.
inline constexpr auto sorts_before = [](const ScaledLogit& a, const ScaledLogit& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
};

// HF's RepetitionPenaltyLogitsProcessor: for every distinct id in `history`, a positive logit is
// divided by `penalty`, a negative one multiplied. Modifies `logits` in place.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> history, float penalty);
// OpenAI's presence and frequency penalties: logit[t] -= presence * (count[t] > 0) + frequency * count[t],
// count[t] being how often t occurs in `generated` (ids outside the row are skipped). In place.
void apply_presence_frequency_penalty(std::span<float> logits, std::span<const int32_t> generated, float presence,
                                      float frequency);
// The ids that penalty touches: the distinct ids of `history` in [0, vocab), ascending.
std::vector<int32_t> penalty_ids(std::span<const int32_t> history, int64_t vocab);

// The candidates that survive temperature, top-k, top-p and min-p (penalty already applied),
// with probabilities renormalised over them; sorted by descending probability (ties: lower id).
// Where logits are +inf, those tokens share all the mass equally. Needs params.temperature > 0.
std::vector<TokenProb> sampling_distribution(std::span<const float> logits, const SamplingParams& params);

// The first steps of sampling_distribution: every logit but NaN and -inf divided by the temperature
// (only the +inf ones, as equal logits, where there are any), then top-k. Fails when every logit
// is -inf or NaN. Needs params.temperature > 0.
struct ScaledCandidates {
  std::vector<ScaledLogit> tokens;  // not empty, in no particular order
  double top = 0.0;                 // the largest logit among `tokens` (finite)
  bool top_k_cut = false;           // top-k dropped some tokens
};
ScaledCandidates scaled_candidates(std::span<const float> logits, const SamplingParams& params);

// The rest of sampling_distribution over scaled_candidates' output.
std::vector<TokenProb> distribution_of(ScaledCandidates cand, const SamplingParams& params);

// Whether only the temperature shapes the distribution over `cand` (no top-p, no min-p, no
// top-k cut) and its top logit is finite: then a draw needs no sorted distribution (SortedMass).
bool plain_temperature(const ScaledCandidates& cand, const SamplingParams& params);

// The steps after top-k: top-p, min-p (each off when params say so), renormalisation. `cand`
// holds the tokens that survived top-k, sorted by descending logit (ties: lower id), not empty.
// Shared by the full-row and the candidate paths so both compute the very same numbers.
std::vector<TokenProb> finish_distribution(std::vector<ScaledLogit> cand, const SamplingParams& params);

}  // namespace turbine
