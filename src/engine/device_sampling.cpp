#include "engine/device_sampling.h"

#include <algorithm>
#include <stdexcept>

#include "engine/sampling_distribution.h"

namespace turbine {

namespace {

// Rows `which` (ascending) of logits as one host array of which.size() x V values.
std::vector<float> download_rows(Backend& backend, const Tensor& logits, const std::vector<int32_t>& which) {
  const int64_t R = logits.dim(0), V = logits.dim(1);
  if (int64_t(which.size()) == R) return backend.download_f32(logits);
  const Tensor idx = backend.upload(which.data(), DType::I32, {int64_t(which.size())}, DType::I32);
  Tensor rows = backend.empty(DType::F32, {int64_t(which.size()), V});
  backend.gather_rows(logits, idx, rows);
  return backend.download_f32(rows);
}

}  // namespace

SampledRows sample_on_device(Backend& backend, Tensor& logits, std::span<const SamplingRow> rows,
                             StepWorkers* workers) {
  const int64_t R = logits.rank() == 2 ? logits.dim(0) : -1;
  if (R < 0 || size_t(R) != rows.size()) throw std::logic_error("sample_on_device: one sampling row per logits row");
  const int64_t V = logits.dim(1);
  SampledRows result;
  DeviceSamplingCounts& local = result.counts;
  std::vector<int32_t>& out = result.ids;
  out.assign(R, -1);
  result.logprobs.resize(R);
  // Raw rows leave the device before any penalty is applied to the logits.
  std::vector<int32_t> raw_rows;
  for (int64_t r = 0; r < R; ++r)
    if (rows[r].sampler->source() == SampleSource::RawRow) raw_rows.push_back(int32_t(r));
  if (!raw_rows.empty()) {
    std::vector<float> host = download_rows(backend, logits, raw_rows);
    for_each_row(workers, raw_rows.size(), [&](size_t i) {
      const SamplingRow& row = rows[raw_rows[i]];
      const std::span<float> values = std::span<float>(host).subspan(i * V, V);
      const SamplingParams& params = row.sampler->params();
      std::vector<float> raw;
      if (params.logprobs) raw.assign(values.begin(), values.end());
      const size_t prompt_len = std::min(row.prompt_len, row.history.size());
      const int32_t id = row.sampler->sample_raw(values, row.history, row.history.subspan(prompt_len));
      out[raw_rows[i]] = id;
      if (params.logprobs) result.logprobs[raw_rows[i]] = token_logprobs(raw, id, params.top_logprobs);
    });
    local.full_rows += int(raw_rows.size());
  }
  // The repetition penalty goes onto the device logits first, so penalised rows sample like others.
  std::vector<int32_t> pen_rows, pen_ids;
  std::vector<float> penalties;
  for (int64_t r = 0; r < R; ++r) {
    const float p = rows[r].sampler->params().repetition_penalty;
    if (p == 1.0f || rows[r].sampler->source() == SampleSource::RawRow) continue;
    for (int32_t id : penalty_ids(rows[r].history, V)) {
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
    Sampler& sampler = *rows[r].sampler;
    switch (sampler.source()) {
      case SampleSource::Argmax: greedy.push_back(int32_t(r)); break;
      case SampleSource::Candidates:
        cand_rows.push_back(int32_t(r));
        temperatures.push_back(sampler.params().temperature);
        k = std::max(k, sampler.candidates());
        break;
      case SampleSource::FullRow: full_rows.push_back(int32_t(r)); break;
      case SampleSource::RawRow: break;  // sampled above
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
      if (const auto id = rows[r].sampler->sample(row)) {
        out[r] = *id;
        ++local.candidates;
      } else {
        full_rows.push_back(r);
      }
    }
  }
  if (!full_rows.empty()) {
    std::sort(full_rows.begin(), full_rows.end());
    std::vector<float> host = download_rows(backend, logits, full_rows);
    for_each_row(workers, full_rows.size(), [&](size_t i) {
      const int32_t r = full_rows[i];
      out[r] = rows[r].sampler->sample_penalized(std::span<float>(host).subspan(i * V, V));
    });
    local.full_rows += int(full_rows.size());
  }
  return result;
}

}  // namespace turbine
