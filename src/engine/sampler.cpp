#include "engine/sampler.h"

#include <cmath>
#include <stdexcept>

#include "core/error.h"
#include "engine/sorted_mass.h"

namespace turbine {

Sampler::Sampler(const SamplingParams& params, std::shared_ptr<GuidedMaskCache> guided_masks)
    : params_(params), rng_(params.seed) {
  if (params.temperature < 0) fail("--temperature must be >= 0 (got {})", params.temperature);
  if (params.top_k < 0) fail("--top-k must be >= 0 (got {})", params.top_k);
  if (!(params.top_p > 0 && params.top_p <= 1)) fail("--top-p must be in (0, 1] (got {})", params.top_p);
  if (!(params.min_p >= 0 && params.min_p <= 1)) fail("--min-p must be in [0, 1] (got {})", params.min_p);
  if (!(params.repetition_penalty > 0)) fail("--repetition-penalty must be > 0 (got {})", params.repetition_penalty);
  if (params.guided) {
    if (!guided_masks) fail("guided decoding needs the tokenizer's vocabulary");
    if (guided_masks->grammar() != params.guided && !(*guided_masks->grammar() == *params.guided))
      throw std::logic_error("sampler: a mask cache of another grammar");
    std::vector<int32_t> stops = params.ignore_eos ? std::vector<int32_t>{} : params.stop_ids;
    guided_ends_itself_ = stops.empty();
    guided_.emplace(std::move(guided_masks), std::move(stops));
  }
}

void Sampler::guide(std::span<float> logits) {
  if (guided_) guided_->mask(logits);
}

void Sampler::prepare_guide() {
  if (guided_) guided_->prepare();
}

int32_t Sampler::advance_guide(int32_t id) {
  if (guided_) guided_->accept(id);
  return id;
}

SampleSource Sampler::source() const {
  if (guided_ || params_.logprobs || params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f)
    return SampleSource::RawRow;
  if (params_.temperature == 0.0f) return SampleSource::Argmax;
  return candidates() > 0 ? SampleSource::Candidates : SampleSource::FullRow;
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  guide(logits);
  apply_repetition_penalty(logits, history, params_.repetition_penalty);
  return advance_guide(sample_penalized(logits));
}

int32_t Sampler::sample_raw(std::span<float> logits, std::span<const int32_t> history,
                            std::span<const int32_t> generated) {
  guide(logits);
  apply_repetition_penalty(logits, history, params_.repetition_penalty);
  apply_presence_frequency_penalty(logits, generated, params_.presence_penalty, params_.frequency_penalty);
  return advance_guide(sample_penalized(logits));
}

int32_t Sampler::sample_penalized(std::span<float> logits) {
  if (logits.empty()) fail("no logits to sample from");
  if (params_.temperature == 0.0f) {
    // Greedy: the first maximum, like torch.argmax, NaN skipped (as Backend::argmax_rows does).
    size_t best = 0;
    bool found = false;
    for (size_t i = 0; i < logits.size(); ++i)
      if (!std::isnan(logits[i]) && (!found || logits[i] > logits[best])) best = i, found = true;
    return int32_t(best);
  }
  ScaledCandidates cand = scaled_candidates(logits, params_);
  if (plain_temperature(cand, params_)) {
    // The token where the running mass from the top crosses u of the total: what draw's walk over
    // the sorted distribution picks, without sorting the row.
    const SortedMass mass(cand.tokens, cand.top);
    return mass.locate(uniform() * mass.total(), /*inclusive=*/false).id;
  }
  return draw(distribution_of(std::move(cand), params_));
}

std::optional<int32_t> Sampler::sample(const CandidateRow& row) {
  if (source() != SampleSource::Candidates) fail("this sampler does not sample from candidates");
  const auto dist = candidate_distribution(row, params_);
  if (!dist) return std::nullopt;
  return draw(*dist);
}

double Sampler::uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

int32_t Sampler::draw(const std::vector<TokenProb>& dist) {
  // A uniform draw in [0, 1) walked over the cumulative distribution.
  const double u = uniform();
  double cumulative = 0;
  for (const auto& t : dist) {
    cumulative += t.prob;
    if (u < cumulative) return t.id;
  }
  return dist.back().id;  // rounding left u just past the total
}

}  // namespace turbine
