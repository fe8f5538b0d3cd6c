// Sampler against a brute-force double-precision rendering of HF's logits processors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "core/error.h"
#include "engine/sampler.h"
#include "engine/sampling_distribution.h"
#include "engine/device_sampling.h"
#include "engine/token_logprobs.h"
#include "ops/cpu_test_util.h"
#include "backend/cpu/cpu_backend.h"

using namespace turbine;

namespace {

// HF's pipeline written out over the whole vocabulary with -inf masks.
std::vector<double> brute_force_probs(std::vector<float> logits, const std::vector<int32_t>& history,
                                      const SamplingParams& p) {
  const size_t n = logits.size();
  std::vector<double> s(logits.begin(), logits.end());
  for (int32_t id : std::set<int32_t>(history.begin(), history.end()))
    s[id] = s[id] < 0 ? s[id] * p.repetition_penalty : s[id] / p.repetition_penalty;
  for (auto& x : s) x /= p.temperature;
  auto softmax = [&](const std::vector<double>& v) {
    double mx = -INFINITY, sum = 0;
    for (double x : v) mx = std::max(mx, x);
    std::vector<double> out(n);
    for (size_t i = 0; i < n; ++i) sum += out[i] = std::isinf(v[i]) ? 0 : std::exp(v[i] - mx);
    for (auto& x : out) x /= sum;
    return out;
  };
  if (p.top_k > 0) {
    auto sorted = s;
    std::sort(sorted.rbegin(), sorted.rend());
    const double kth = sorted[std::min<size_t>(p.top_k, n) - 1];
    for (auto& x : s)
      if (x < kth) x = -INFINITY;
  }
  if (p.top_p < 1) {
    auto probs = softmax(s);
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] < s[b]; });
    double cum = 0;
    for (size_t r = 0; r + 1 < n; ++r) {  // the most likely token always stays
      cum += probs[order[r]];
      if (cum <= 1.0 - p.top_p) s[order[r]] = -INFINITY;
    }
  }
  if (p.min_p > 0) {
    auto probs = softmax(s);
    const double top = *std::max_element(probs.begin(), probs.end());
    for (size_t i = 0; i < n; ++i)
      if (probs[i] < p.min_p * top) s[i] = -INFINITY;
  }
  return softmax(s);
}

std::vector<float> random_logits(std::mt19937& rng, size_t n) {
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

}  // namespace

TEST(Sampler, DistributionMatchesBruteForce) {
  std::mt19937 rng(7);
  const std::vector<SamplingParams> settings = [] {
    std::vector<SamplingParams> v;
    for (float t : {0.5f, 1.0f, 1.7f})
      for (int k : {0, 1, 5, 40})
        for (float top_p : {1.0f, 0.9f, 0.5f})
          for (float min_p : {0.0f, 0.05f, 0.3f})
            for (float pen : {1.0f, 1.3f}) {
              SamplingParams p;
              p.temperature = t, p.top_k = k, p.top_p = top_p, p.min_p = min_p, p.repetition_penalty = pen;
              v.push_back(p);
            }
    return v;
  }();
  for (const auto& params : settings) {
    auto logits = random_logits(rng, 64);
    std::vector<int32_t> history = {3, 3, 10, 20, 63, 0};
    // The penalty runs in float (logits are float), the reference in double: 1e-6 apart at most.
    const auto expected = brute_force_probs(logits, history, params);
    apply_repetition_penalty(logits, history, params.repetition_penalty);
    const auto dist = sampling_distribution(logits, params);
    std::map<int32_t, double> got;
    for (const auto& t : dist) got[t.id] = t.prob;
    for (size_t id = 0; id < expected.size(); ++id) {
      const double g = got.count(id) ? got[id] : 0.0;
      EXPECT_NEAR(g, expected[id], 1e-6) << "id " << id << " t=" << params.temperature << " k=" << params.top_k
                                         << " p=" << params.top_p << " min_p=" << params.min_p;
    }
    for (size_t i = 1; i < dist.size(); ++i) EXPECT_GE(dist[i - 1].prob, dist[i].prob);
  }
}

TEST(Sampler, RepetitionPenaltyCountsEachIdOnce) {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f};
  apply_repetition_penalty(logits, std::vector<int32_t>{0, 0, 0, 1}, 2.0f);
  EXPECT_FLOAT_EQ(logits[0], 1.0f);   // positive: divided once, not three times
  EXPECT_FLOAT_EQ(logits[1], -4.0f);  // negative: multiplied
  EXPECT_FLOAT_EQ(logits[2], 1.0f);   // not in history
}

TEST(Sampler, GreedyIsArgmaxAfterPenalty) {
  SamplingParams params;  // temperature 0
  std::vector<float> logits = {1.0f, 3.0f, 2.5f, 3.0f};
  EXPECT_EQ(Sampler(params).sample(logits, {}), 1);  // first of the tied maxima
  params.repetition_penalty = 1.5f;
  logits = {1.0f, 3.0f, 2.5f, 0.0f};
  EXPECT_EQ(Sampler(params).sample(logits, std::vector<int32_t>{1}), 2);  // 3/1.5 = 2 < 2.5
}

TEST(Sampler, DrawFollowsTheDistributionAndTheSeed) {
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_k = 4;
  params.seed = 1234;
  const std::vector<float> base = {0.0f, 1.0f, 2.0f, 0.5f, -1.0f, 1.5f};
  const auto dist = sampling_distribution(base, params);
  Sampler sampler(params), same_seed(params);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    auto a = base, b = base;
    const int32_t id = sampler.sample(a, {});
    EXPECT_EQ(id, same_seed.sample(b, {}));
    ++counts[id];
  }
  EXPECT_EQ(counts.size(), 4u);  // top-k 4: ids 0 and 4 never drawn
  EXPECT_EQ(counts.count(0) + counts.count(4), 0u);
  for (const auto& t : dist) EXPECT_NEAR(double(counts[t.id]) / n, t.prob, 0.015) << t.id;
}

TEST(Sampler, RejectsBadParameters) {
  SamplingParams p;
  p.temperature = -1;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.top_p = 0;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.min_p = 2;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.repetition_penalty = 0;
  EXPECT_THROW(Sampler{p}, Error);
}

// A +inf logit (an overflowing model) takes all the mass: the +inf tokens share it equally, under
// every setting, on the full row and through sample_on_device's candidate path alike.
TEST(Sampler, PlusInfinityLogitsShareAllTheMass) {
  std::vector<float> row(5000, 0.0f);
  for (size_t i = 0; i < row.size(); ++i) row[i] = float(i % 97) * 0.1f;
  row[17] = INFINITY, row[4000] = INFINITY, row[9] = NAN, row[10] = -INFINITY;
  std::vector<SamplingParams> settings(5);
  for (auto& p : settings) p.temperature = 0.7f;
  settings[1].top_p = 0.9f;
  settings[2].min_p = 0.1f;
  settings[3].top_k = 40;
  settings[4].top_k = 1, settings[4].temperature = 2.0f;  // the two tie at the edge: both stay (as in HF)
  for (const SamplingParams& p : settings) {
    const auto dist = sampling_distribution(row, p);
    ASSERT_EQ(dist.size(), 2u) << "top_k " << p.top_k << " top_p " << p.top_p << " min_p " << p.min_p;
    EXPECT_EQ(dist[0].id, 17);
    EXPECT_EQ(dist[1].id, 4000);
    EXPECT_DOUBLE_EQ(dist[0].prob, 0.5);
    SamplingParams seeded = p;
    seeded.seed = 3;
    Sampler s(seeded);
    int hits[2] = {0, 0};
    for (int k = 0; k < 400; ++k) {
      std::vector<float> copy = row;
      const int32_t id = s.sample_penalized(copy);
      ASSERT_TRUE(id == 17 || id == 4000) << id;
      ++hits[id == 4000];
    }
    EXPECT_GT(std::min(hits[0], hits[1]), 150);  // about 200 each
  }
  // The row's logprobs: each +inf token log(1/2), the rest -inf.
  const TokenLogprobs lp = token_logprobs(row, 4000, 3);
  EXPECT_FLOAT_EQ(lp.chosen.logprob, float(-std::log(2.0)));
  ASSERT_EQ(lp.top.size(), 3u);
  EXPECT_EQ(lp.top[0].id, 17);
  EXPECT_EQ(lp.top[1].id, 4000);
  EXPECT_EQ(lp.top[2].logprob, -INFINITY);
  // Through the backend's top candidates (top-p): they decline, and the full row shares the mass.
  auto be = test::make_cpu();
  SamplingParams p;
  p.temperature = 1.0f, p.top_p = 0.8f, p.seed = 5;
  Sampler s(p);
  const std::vector<int32_t> none;
  const std::vector<SamplingRow> rows = {{&s, none, 0}};
  for (int k = 0; k < 20; ++k) {
    Tensor t = be->upload(row.data(), DType::F32, {1, int64_t(row.size())}, DType::F32);
    const SampledRows out = sample_on_device(*be, t, rows);
    ASSERT_TRUE(out.ids[0] == 17 || out.ids[0] == 4000) << out.ids[0];
    EXPECT_EQ(out.counts.full_rows, 1);
  }
}
