// sample_on_device with StepWorkers: the host-sampled rows (logprobs, presence/frequency penalties,
// plain temperature sampling) sampled on worker threads give the ids and logprobs that one thread
// gives, step after step, beside rows the backend serves (greedy, top-k candidates).
#include <gtest/gtest.h>

#include <random>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "engine/device_sampling.h"
#include "engine/sampler.h"
#include "engine/step_workers.h"
#include "ops/cpu_test_util.h"

using namespace turbine;
using turbine::test::make_cpu;

namespace {

std::vector<SamplingParams> mixed_params() {
  std::vector<SamplingParams> out;
  for (int copy = 0; copy < 3; ++copy) {
    SamplingParams p;
    p.temperature = 1.0f;  // plain temperature: a whole row on the host
    out.push_back(p);
    p.logprobs = true, p.top_logprobs = 3;  // a raw row with logprobs
    out.push_back(p);
    p = {};
    p.temperature = 0.8f, p.presence_penalty = 0.5f, p.frequency_penalty = 0.3f;  // a raw row
    out.push_back(p);
    p = {};
    p.temperature = 0.7f, p.top_k = 10;  // candidates from the backend
    out.push_back(p);
    out.push_back(SamplingParams{});  // greedy
  }
  for (size_t r = 0; r < out.size(); ++r) out[r].seed = 77 + r;
  return out;
}

TEST(DeviceSamplingWorkers, SameIdsAndLogprobsAsOneThread) {
  auto be = make_cpu();
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const std::vector<SamplingParams> params = mixed_params();
  const int64_t R = int64_t(params.size()), V = 3000;
  std::vector<Sampler> serial, parallel;
  for (const SamplingParams& p : params) serial.emplace_back(p), parallel.emplace_back(p);
  std::vector<std::vector<int32_t>> history(R, std::vector<int32_t>{5, 6, 7});
  StepWorkers workers(3);
  for (int step = 0; step < 8; ++step) {
    std::vector<float> x(size_t(R * V));
    for (float& v : x) v = normal(rng);
    std::vector<SamplingRow> serial_rows, parallel_rows;
    for (int64_t r = 0; r < R; ++r) {
      serial_rows.push_back({&serial[r], history[r], 3});
      parallel_rows.push_back({&parallel[r], history[r], 3});
    }
    Tensor a = be->upload(x.data(), DType::F32, {R, V}, DType::F32);
    Tensor b = be->upload(x.data(), DType::F32, {R, V}, DType::F32);
    const SampledRows want = sample_on_device(*be, a, serial_rows);
    const SampledRows got = sample_on_device(*be, b, parallel_rows, &workers);
    ASSERT_EQ(got.ids, want.ids) << "step " << step;
    ASSERT_EQ(got.logprobs.size(), want.logprobs.size());
    for (int64_t r = 0; r < R; ++r) {
      ASSERT_EQ(got.logprobs[r].has_value(), want.logprobs[r].has_value()) << r;
      if (!want.logprobs[r]) continue;
      EXPECT_EQ(got.logprobs[r]->chosen.id, want.logprobs[r]->chosen.id);
      EXPECT_EQ(got.logprobs[r]->chosen.logprob, want.logprobs[r]->chosen.logprob);
      ASSERT_EQ(got.logprobs[r]->top.size(), want.logprobs[r]->top.size());
      for (size_t k = 0; k < want.logprobs[r]->top.size(); ++k) {
        EXPECT_EQ(got.logprobs[r]->top[k].id, want.logprobs[r]->top[k].id);
        EXPECT_EQ(got.logprobs[r]->top[k].logprob, want.logprobs[r]->top[k].logprob);
      }
    }
    EXPECT_EQ(got.counts.full_rows, want.counts.full_rows);
    for (int64_t r = 0; r < R; ++r) history[r].push_back(want.ids[r]);
  }
  EXPECT_GE(workers.started(), 1);  // the rows went to the workers
}

TEST(DeviceSamplingWorkers, AFailingRowFailsTheCall) {
  auto be = make_cpu();
  SamplingParams p;
  p.temperature = 1.0f;
  std::vector<Sampler> samplers;
  for (int r = 0; r < 4; ++r) samplers.emplace_back(p);
  const int64_t V = 50;
  std::vector<float> x(size_t(4 * V), 0.5f);
  for (int64_t v = 0; v < V; ++v) x[size_t(2 * V + v)] = -INFINITY;  // row 2: nothing to sample
  Tensor t = be->upload(x.data(), DType::F32, {4, V}, DType::F32);
  const std::vector<int32_t> none;
  std::vector<SamplingRow> rows;
  for (auto& s : samplers) rows.push_back({&s, none, 0});
  StepWorkers workers(2);
  EXPECT_THROW(sample_on_device(*be, t, rows, &workers), Error);
  // The workers are free for the next call.
  Tensor ok = be->upload(std::vector<float>(size_t(4 * V), 0.5f).data(), DType::F32, {4, V}, DType::F32);
  EXPECT_EQ(sample_on_device(*be, ok, rows, &workers).ids.size(), 4u);
}

}  // namespace
