// Samples one token per logits row with the logits left on the device: the repetition penalty
// applied there (Backend::repetition_penalty), greedy rows through Backend::argmax_rows,
// top-k/top-p/min-p rows from Backend::top_candidates, and only the rows those cannot serve
// (plain temperature sampling, candidates that may not cover the distribution) downloaded whole.
// Rows that ask for logprobs or presence/frequency penalties are downloaded whole before any
// penalty touches them (SampleSource::RawRow); the other rows do not notice them.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "engine/sampler.h"
#include "engine/step_workers.h"
#include "engine/token_logprobs.h"

namespace turbine {

// How the rows of one call were served (for tests and benchmarks).
struct DeviceSamplingCounts {
  int argmax = 0;
  int candidates = 0;
  int full_rows = 0;  // downloaded rows, fallbacks from candidates and raw rows included
};

// What one logits row is sampled with.
struct SamplingRow {
  Sampler* sampler = nullptr;
  std::span<const int32_t> history;  // prompt + generated ids (the repetition penalty's)
  size_t prompt_len = 0;             // history[prompt_len..] are the generated ids (presence/frequency)
};

struct SampledRows {
  std::vector<int32_t> ids;                            // one per row
  std::vector<std::optional<TokenLogprobs>> logprobs;  // one per row, set where its params ask for logprobs
  DeviceSamplingCounts counts;
};

// logits [R, V] fp32 on the backend (changed in place where a penalty applies); rows[r] belongs
// to row r. The downloaded rows are sampled on `workers` where given (each row's work touches only
// its own sampler and result, so the ids are those of one thread).
SampledRows sample_on_device(Backend& backend, Tensor& logits, std::span<const SamplingRow> rows,
                             StepWorkers* workers = nullptr);

}  // namespace turbine
