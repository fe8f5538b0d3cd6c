// Samples one token per logits row with the logits left on the device: the repetition penalty
// applied there (Backend::repetition_penalty), greedy rows through Backend::argmax_rows,
// top-k/top-p/min-p rows from Backend::top_candidates, and only the rows those cannot serve
// (plain temperature sampling, candidates that may not cover the distribution) downloaded whole.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "engine/sampler.h"

namespace turbine {

// How the rows of one call were served (for tests and benchmarks).
struct DeviceSamplingCounts {
  int argmax = 0;
  int candidates = 0;
  int full_rows = 0;  // downloaded rows, fallbacks from candidates included
};

// logits [R, V] fp32 on the backend (changed in place where a penalty applies); samplers[r] and
// histories[r] (prompt + generated ids, for the penalty) belong to row r. Returns the R ids.
std::vector<int32_t> sample_on_device(Backend& backend, Tensor& logits, std::span<Sampler* const> samplers,
                                      std::span<const std::span<const int32_t>> histories,
                                      DeviceSamplingCounts* counts = nullptr);

}  // namespace turbine
