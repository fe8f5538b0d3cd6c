// Picks the next token from one sequence's logits: repetition penalty, temperature, top-k,
// top-p, min-p, then a seeded draw (or argmax when temperature is 0). The logits may come whole
// (a downloaded row) or as the row's top candidates (Backend::top_candidates); both give the
// same token for the same state whenever the candidates cover the distribution.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>

#include "engine/sampling_candidates.h"
#include "engine/sampling_params.h"
#include "guided/guided_decoder.h"
#include "guided/guided_mask_cache.h"

namespace turbine {

// What a Sampler needs from the device for its next token.
enum class SampleSource : uint8_t {
  Argmax,      // greedy: the row's argmax id is the token
  Candidates,  // the row's top candidates (Sampler::candidates() of them) usually suffice
  FullRow,     // the whole row (plain temperature sampling, huge top-k)
  RawRow,      // the whole row before any penalty: logprobs, presence/frequency penalties, guided
               // decoding (sample_raw)
};
// With a repetition penalty the caller applies it to the device logits first (penalty_ids),
// for every source but RawRow.

class Sampler {
 public:
  // `guided_masks` is needed (and only used) when params.guided is set: the mask cache of that
  // grammar over the tokenizer's vocabulary (GuidedMaskCaches).
  explicit Sampler(const SamplingParams& params, std::shared_ptr<GuidedMaskCache> guided_masks = nullptr);

  const SamplingParams& params() const { return params_; }
  SampleSource source() const;
  int candidates() const { return candidates_needed(params_); }

  // logits [vocab] may be modified in place; history = prompt + generated ids (for the penalty).
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);
  // For source() == RawRow: the model's logits as they came; applies the repetition penalty over
  // `history`, the presence/frequency penalties over `generated` (the ids generated so far), samples.
  int32_t sample_raw(std::span<float> logits, std::span<const int32_t> history, std::span<const int32_t> generated);
  // The same for logits that already carry the repetition penalty.
  int32_t sample_penalized(std::span<float> logits);
  // From the candidates of the penalised row (source() == Candidates); nullopt, with the RNG
  // untouched, when they may not cover the distribution: then use sample_penalized on the row.
  std::optional<int32_t> sample(const CandidateRow& row);

  bool guided() const { return guided_.has_value(); }
  // Guided: finds the next token's mask ahead of sampling (GuidedDecoder::prepare). It may run on
  // another thread while the logits are computed, as long as nothing else uses this sampler meanwhile.
  void prepare_guide();
  // A guided output that is complete and has no stop id to end it (none given, or ignore_eos):
  // the request ends here, finish reason stop.
  bool guided_done_without_stop() const { return guided_ && guided_ends_itself_ && guided_->complete(); }

 private:
  // Guided: the grammar's mask over the raw row before anything else; the pick advances it.
  void guide(std::span<float> logits);
  int32_t advance_guide(int32_t id);

  // A uniform draw in [0, 1): one per sampled token, whichever way it is picked.
  double uniform();
  int32_t draw(const std::vector<TokenProb>& dist);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::optional<GuidedDecoder> guided_;
  bool guided_ends_itself_ = false;
};

}  // namespace turbine
