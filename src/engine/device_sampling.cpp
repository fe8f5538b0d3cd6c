#include "engine/device_sampling.h"

#include <algorithm>
#include <stdexcept>

#include "engine/sampling_distribution.h"

namespace turbine {

std::vector<int32_t> sample_on_device(Backend& backend, Tensor& logits, std::span<Sampler* const> samplers,
                                      std::span<const std::span<const int32_t>> histories,
                                      DeviceSamplingCounts* counts) {
  const int64_t R = logits.rank() == 2 ? logits.dim(0) : -1;
  if (R < 0 || size_t(R) != samplers.size() || samplers.size() != histories.size())
    throw std::logic_error("sample_on_device: one sampler and one history per logits row");
  const int64_t V = logits.dim(1);
  DeviceSamplingCounts local;
  std::vector<int32_t> out(R, -1);
  // The repetition penalty goes onto the device logits first, so penalised rows sample like others.
  std::vector<int32_t> pen_rows, pen_ids;
  std::vector<float> penalties;
  for (int64_t r = 0; r < R; ++r) {
    const float p = samplers[r]->params().repetition_penalty;
    if (p == 1.0f) continue;
    for (int32_t id : penalty_ids(histories[r], V)) {
      pen_rows.push_back(int32_t(r));
      pen_ids.push_back(id);
      penalties.push_back(p);
    }
  }
  if (!pen_rows.empty()) backend.repetition_penalty(logits, pen_rows, pen_ids, penalties);
  std::vector<int32_t> greedy, cand_rows, full_rows;
  std::vector<float> temperatures;
  int k = 0;
  for (int64_t r = 0; r < R; ++r) {
    switch (samplers[r]->source()) {
      case SampleSource::Argmax: greedy.push_back(int32_t(r)); break;
      case SampleSource::Candidates:
        cand_rows.push_back(int32_t(r));
        temperatures.push_back(samplers[r]->params().temperature);
        k = std::max(k, samplers[r]->candidates());
        break;
      case SampleSource::FullRow: full_rows.push_back(int32_t(r)); break;
    }
  }
  if (!greedy.empty()) {
    const std::vector<int32_t> ids = backend.argmax_rows(logits);  // every row: cheaper than a gather
    for (int32_t r : greedy) out[r] = ids[r];
    local.argmax = int(greedy.size());
  }
  if (!cand_rows.empty()) {
    const TopCandidates tc = backend.top_candidates(logits, cand_rows, temperatures, std::min(k, kMaxTopCandidates));
    for (size_t i = 0; i < cand_rows.size(); ++i) {
      const int32_t r = cand_rows[i];
      CandidateRow row;
      row.ids = std::span<const int32_t>(tc.ids).subspan(i * tc.k, tc.k);
      row.values = std::span<const float>(tc.values).subspan(i * tc.k, tc.k);
      row.sum_exp = tc.sum_exp[i];
      row.whole_row = tc.k == V;
      if (const auto id = samplers[r]->sample(row)) {
        out[r] = *id;
        ++local.candidates;
      } else {
        full_rows.push_back(r);
      }
    }
  }
  if (!full_rows.empty()) {
    std::sort(full_rows.begin(), full_rows.end());
    std::vector<float> host;
    if (int64_t(full_rows.size()) == R) {
      host = backend.download_f32(logits);
    } else {
      const Tensor idx = backend.upload(full_rows.data(), DType::I32, {int64_t(full_rows.size())}, DType::I32);
      Tensor rows = backend.empty(DType::F32, {int64_t(full_rows.size()), V});
      backend.gather_rows(logits, idx, rows);
      host = backend.download_f32(rows);
    }
    for (size_t i = 0; i < full_rows.size(); ++i) {
      const int32_t r = full_rows[i];
      out[r] = samplers[r]->sample_penalized(std::span<float>(host).subspan(i * V, V));
    }
    local.full_rows = int(full_rows.size());
  }
  if (counts) *counts = local;
  return out;
}

}  // namespace turbine
