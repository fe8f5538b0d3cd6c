// The candidate path (top candidates + normaliser from the backend) against the full-row path:
// the same distribution to the last bit whenever the candidates cover it, and the same tokens
// for the same seeds through sample_on_device (which falls back to whole rows when they don't).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backend/cpu/cpu_backend.h"
#include "ops/cpu_test_util.h"
#include "engine/device_sampling.h"
#include "engine/sampler.h"
#include "engine/sampling_candidates.h"

using namespace turbine;
using turbine::test::make_cpu;

namespace {

// LM-like logits: a spread that puts most mass on tens to hundreds of tokens, plus (with
// `nasty`) runs of equal values, NaN and -inf.
std::vector<float> lm_logits(std::mt19937& rng, int64_t v, bool nasty) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int64_t> col(0, v - 1);
  const float spread = std::uniform_real_distribution<float>(1.5f, 6.0f)(rng);
  std::vector<float> x(v);
  for (auto& e : x) e = spread * normal(rng);
  if (nasty) {
    for (int rep = 0; rep < 3; ++rep) {
      const float val = x[col(rng)];
      for (int i = 0; i < 20; ++i) x[col(rng)] = val;
    }
    for (int i = 0; i < 10; ++i) x[col(rng)] = NAN;
    for (int i = 0; i < 10; ++i) x[col(rng)] = -INFINITY;
  }
  return x;
}

std::vector<SamplingParams> settings() {
  std::vector<SamplingParams> v;
  for (float t : {0.3f, 1.0f, 1.7f})
    for (int k : {0, 1, 5, 40, 300})
      for (float top_p : {1.0f, 0.95f, 0.6f, 0.2f})
        for (float min_p : {0.0f, 0.02f, 0.2f}) {
          SamplingParams p;
          p.temperature = t, p.top_k = k, p.top_p = top_p, p.min_p = min_p;
          v.push_back(p);
        }
  return v;
}

}  // namespace

TEST(SamplerCandidates, SameDistributionToTheBitWhenCovered) {
  auto be = make_cpu();
  std::mt19937 rng(21);
  int served = 0, fell_back = 0;
  for (const auto& params : settings()) {
    const int k = candidates_needed(params);
    if (k == 0) continue;  // plain temperature sampling: whole rows only
    for (int trial = 0; trial < 6; ++trial) {
      const int64_t v = trial % 2 ? 3001 : 200;
      const auto x = lm_logits(rng, v, trial >= 3);
      const Tensor t = be->upload(x.data(), DType::F32, {1, v}, DType::F32);
      const std::vector<int32_t> rows = {0};
      const std::vector<float> temps = {params.temperature};
      const TopCandidates tc = be->top_candidates(t, rows, temps, k);
      const CandidateRow row{tc.ids, tc.values, tc.sum_exp[0], tc.k == v};
      const auto got = candidate_distribution(row, params);
      if (!got) {
        ++fell_back;
        continue;
      }
      ++served;
      const auto want = sampling_distribution(x, params);
      ASSERT_EQ(got->size(), want.size()) << "t " << params.temperature << " k " << params.top_k << " p "
                                          << params.top_p << " min_p " << params.min_p << " v " << v;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ((*got)[i].id, want[i].id);
        EXPECT_EQ((*got)[i].prob, want[i].prob);  // exact: the same code over the same numbers
      }
    }
  }
  // Both paths must have run for the comparison to mean anything.
  EXPECT_GT(served, 800);  // 1026 of 1062 at this seed
  EXPECT_GT(fell_back, 10);
}

TEST(SamplerCandidates, SameTokensAsTheFullRowOverManySteps) {
  auto be = make_cpu();
  std::mt19937 rng(5);
  auto params_list = settings();
  for (float pen : {1.3f, 0.8f}) {  // the penalty on the "device" (the CPU backend's op), then as usual
    SamplingParams p;
    p.temperature = 0.9f, p.top_k = 20, p.repetition_penalty = pen;
    params_list.push_back(p);
    p.top_k = 0, p.top_p = 0.8f, p.min_p = 0.05f;
    params_list.push_back(p);
    p.top_p = 1.0f, p.min_p = 0.0f;  // plain temperature: a whole row, penalised once
    params_list.push_back(p);
    p = {};
    p.repetition_penalty = pen;
    params_list.push_back(p);
  }
  params_list.push_back(SamplingParams{});  // greedy
  const int64_t v = 1500;
  const int64_t R = int64_t(params_list.size());
  std::vector<Sampler> device, host;
  // Histories that hit each row's top tokens often enough for the penalty to change draws.
  std::vector<std::vector<int32_t>> history(R, std::vector<int32_t>{1, 2, 3, 1, -5, int32_t(v) + 3});
  for (int64_t r = 0; r < R; ++r) {
    params_list[r].seed = 1000 + r;
    device.emplace_back(params_list[r]);
    host.emplace_back(params_list[r]);
  }
  DeviceSamplingCounts total;
  for (int step = 0; step < 12; ++step) {
    std::vector<float> x;
    for (int64_t r = 0; r < R; ++r) {
      const auto row = lm_logits(rng, v, (step + r) % 4 == 0);
      x.insert(x.end(), row.begin(), row.end());
    }
    Tensor t = be->upload(x.data(), DType::F32, {R, v}, DType::F32);
    std::vector<SamplingRow> rows;
    for (int64_t r = 0; r < R; ++r) rows.push_back({&device[r], history[r], history[r].size()});
    const SampledRows sampled = sample_on_device(*be, t, rows);
    const DeviceSamplingCounts& counts = sampled.counts;
    const std::vector<int32_t>& got = sampled.ids;
    total.argmax += counts.argmax, total.candidates += counts.candidates, total.full_rows += counts.full_rows;
    for (int64_t r = 0; r < R; ++r) {
      std::vector<float> row(x.begin() + r * v, x.begin() + (r + 1) * v);
      const int32_t want = host[r].sample(row, history[r]);
      ASSERT_EQ(got[r], want) << "row " << r << " step " << step;
      history[r].push_back(want);
    }
  }
  EXPECT_GT(total.argmax, 0);
  EXPECT_GT(total.candidates, total.full_rows);
  EXPECT_GT(total.full_rows, 0);
}

TEST(SamplerCandidates, TiesAtTheTopKEdgeFallBack) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 3;
  ASSERT_EQ(candidates_needed(p), 4);
  const std::vector<int32_t> ids = {0, 1, 2, 3};
  // The 3rd and 4th candidates tie: more of that value may follow outside the candidates.
  const std::vector<float> tied = {5, 4, 3, 3};
  EXPECT_FALSE(candidate_distribution({ids, tied, 10.0f, false}, p));
  // ... unless the candidates are the whole row: then all of them stay.
  const auto whole = candidate_distribution({ids, tied, 10.0f, true}, p);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->size(), 4u);
  const std::vector<float> clear = {5, 4, 3, 2};
  const auto cut = candidate_distribution({ids, clear, 10.0f, false}, p);
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->size(), 3u);
}

TEST(SamplerCandidates, TopPNeedsTheMassWithinTheCandidates) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 0.5f;
  const std::vector<int32_t> ids = {7, 8};
  const std::vector<float> values = {0.0f, 0.0f};  // each exp(0) = 1
  // Normaliser 10: the two candidates hold 0.2 of the mass, short of 0.5.
  EXPECT_FALSE(candidate_distribution({ids, values, 10.0f, false}, p));
  // Normaliser 3: the first holds 1/3, both 2/3 >= 0.5: both stay.
  const auto d = candidate_distribution({ids, values, 3.0f, false}, p);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->size(), 2u);
  // Normaliser 2: the first holds exactly 0.5, too close to call against the row's own sum.
  EXPECT_FALSE(candidate_distribution({ids, values, 2.0f, false}, p));
}

TEST(SamplerCandidates, SourceFollowsTheParameters) {
  SamplingParams p;
  EXPECT_EQ(Sampler(p).source(), SampleSource::Argmax);
  p.repetition_penalty = 1.1f;  // applied to the device logits first
  EXPECT_EQ(Sampler(p).source(), SampleSource::Argmax);
  p = {};
  p.temperature = 1.0f;
  EXPECT_EQ(Sampler(p).source(), SampleSource::FullRow);  // all tokens may be drawn
  p.top_p = 0.9f;
  EXPECT_EQ(Sampler(p).source(), SampleSource::Candidates);
  p.repetition_penalty = 1.2f;
  EXPECT_EQ(Sampler(p).source(), SampleSource::Candidates);
  EXPECT_EQ(Sampler(p).candidates(), kDefaultCandidates);
  p.top_k = kMaxTopCandidates;  // k + 1 candidates do not fit
  EXPECT_EQ(Sampler(p).source(), SampleSource::FullRow);
  p.top_k = 50;
  EXPECT_EQ(Sampler(p).candidates(), 51);
}
