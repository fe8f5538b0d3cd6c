// Logprobs, OpenAI's presence/frequency penalties and the raw-row sampling path, on hand-made
// logits rows: the numbers against the formulas written out here, and rows that ask for them
// batched with rows that do not, without either noticing the other.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "ops/cpu_test_util.h"
#include "engine/device_sampling.h"
#include "engine/request_validation.h"
#include "engine/sampler.h"
#include "engine/sampling_distribution.h"
#include "engine/token_logprobs.h"

using namespace turbine;
using turbine::test::make_cpu;

namespace {

// log(softmax(x))_i in long double, straight from the definition.
std::vector<double> log_softmax(const std::vector<float>& x) {
  long double sum = 0;
  for (float v : x)
    if (!std::isnan(v)) sum += std::exp((long double)v);
  std::vector<double> out;
  for (float v : x) out.push_back(std::isnan(v) ? -INFINITY : double((long double)v - std::log(sum)));
  return out;
}

std::vector<float> random_row(std::mt19937& rng, size_t n) {
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = normal(rng);
  return x;
}

TEST(TokenLogprobs, EqualLogSoftmaxOfTheRow) {
  std::mt19937 rng(3);
  const auto x = random_row(rng, 1000);
  const auto want = log_softmax(x);
  for (int32_t chosen : {0, 17, 999}) {
    const TokenLogprobs got = token_logprobs(x, chosen, 0);
    EXPECT_EQ(got.chosen.id, chosen);
    EXPECT_NEAR(got.chosen.logprob, want[chosen], 1e-5);
    EXPECT_TRUE(got.top.empty());
  }
}

TEST(TokenLogprobs, TopNDescendingWithTiesByLowerId) {
  const std::vector<float> x{1.0f, 3.0f, NAN, 3.0f, -2.0f, 5.0f, -INFINITY};
  const auto want = log_softmax(x);
  const TokenLogprobs got = token_logprobs(x, 4, 5);
  ASSERT_EQ(got.top.size(), 5u);
  const std::vector<int32_t> order{5, 1, 3, 0, 4};
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(got.top[i].id, order[i]) << i;
    EXPECT_NEAR(got.top[i].logprob, want[order[i]], 1e-6) << i;
  }
  EXPECT_NEAR(got.chosen.logprob, want[4], 1e-6);
  // NaN counts as impossible; more than the row holds gives the whole row.
  EXPECT_EQ(token_logprobs(x, 2, 0).chosen.logprob, -INFINITY);
  EXPECT_EQ(token_logprobs(x, 0, 20).top.size(), x.size());
  EXPECT_THROW(token_logprobs(x, 7, 1), Error);
}

TEST(PresenceFrequencyPenalty, SubtractsTheOpenAIFormula) {
  const std::vector<float> x{2.0f, -1.0f, 0.5f, 4.0f, 0.0f};
  const std::vector<int32_t> generated{3, 1, 3, 3, 9, -1};  // 3 thrice, 1 once; 9 and -1 are outside the row
  const float presence = 0.7f, frequency = -0.4f;
  std::vector<float> got = x;
  apply_presence_frequency_penalty(got, generated, presence, frequency);
  std::map<int32_t, int> count{{3, 3}, {1, 1}};
  for (int32_t t = 0; t < int32_t(x.size()); ++t) {
    const float want = x[t] - (count[t] > 0 ? presence : 0.0f) - frequency * float(count[t]);
    EXPECT_FLOAT_EQ(got[t], want) << t;
  }
}

TEST(PresenceFrequencyPenalty, SampleRawCountsOnlyTheGeneratedIds) {
  SamplingParams p;
  p.frequency_penalty = 1.5f;
  Sampler sampler(p);
  EXPECT_EQ(sampler.source(), SampleSource::RawRow);
  // Token 0 leads by 2; the prompt's many 0s do not count, two generated 0s (penalty 3) do.
  const std::vector<int32_t> history{0, 0, 0, 0, 1, 0, 0};
  std::vector<float> row{2.0f, 0.0f, -1.0f};
  EXPECT_EQ(sampler.sample_raw(row, history, std::span(history).subspan(5)), 1);
  std::vector<float> row2{2.0f, 0.0f, -1.0f};
  EXPECT_EQ(sampler.sample_raw(row2, history, std::span(history).subspan(7)), 0);
}

// One batch of rows with and without logprobs/penalties: every plain row samples what it samples
// in a batch of plain rows, and the raw rows' logprobs come from the unpenalised logits.
TEST(RawRows, DoNotDisturbTheOtherRowsOfTheBatch) {
  auto be = make_cpu();
  std::mt19937 rng(11);
  const int64_t V = 600;
  std::vector<SamplingParams> params(6);
  params[0].temperature = 0.0f;                        // argmax
  params[1].temperature = 0.8f, params[1].top_k = 20;  // candidates
  params[2].temperature = 1.0f;                        // full row
  params[3].repetition_penalty = 1.5f;                 // argmax after a device penalty
  params[4].logprobs = true, params[4].top_logprobs = 4, params[4].repetition_penalty = 1.5f;
  params[5].temperature = 0.9f, params[5].presence_penalty = 2.0f, params[5].frequency_penalty = 1.0f;
  const std::vector<int32_t> history{1, 5, 5, 9, 9, 9, 40};
  std::vector<float> x;
  for (int64_t r = 0; r < 6; ++r) {
    const auto row = random_row(rng, V);
    x.insert(x.end(), row.begin(), row.end());
  }
  std::vector<Sampler> mixed, plain;
  for (auto& p : params) p.seed = 77, mixed.emplace_back(p), plain.emplace_back(p);
  std::vector<SamplingRow> rows;
  for (auto& s : mixed) rows.push_back({&s, history, 3});
  Tensor t = be->upload(x.data(), DType::F32, {6, V}, DType::F32);
  const SampledRows got = sample_on_device(*be, t, rows);
  EXPECT_EQ(got.counts.full_rows, 3);  // rows 2, 4 and 5

  // The plain rows alone.
  Tensor t4 = be->upload(x.data(), DType::F32, {4, V}, DType::F32);
  std::vector<SamplingRow> plain_rows;
  for (int r = 0; r < 4; ++r) plain_rows.push_back({&plain[r], history, 3});
  const SampledRows alone = sample_on_device(*be, t4, plain_rows);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(got.ids[r], alone.ids[r]) << r;
    EXPECT_FALSE(got.logprobs[r].has_value());
  }

  // Row 4: greedy over the penalised row, logprobs of the raw one.
  std::vector<float> row4(x.begin() + 4 * V, x.begin() + 5 * V);
  const auto raw = log_softmax(row4);
  apply_repetition_penalty(row4, history, 1.5f);
  EXPECT_EQ(got.ids[4], int32_t(std::max_element(row4.begin(), row4.end()) - row4.begin()));
  ASSERT_TRUE(got.logprobs[4].has_value());
  EXPECT_NEAR(got.logprobs[4]->chosen.logprob, raw[got.ids[4]], 1e-5);
  ASSERT_EQ(got.logprobs[4]->top.size(), 4u);
  EXPECT_NEAR(got.logprobs[4]->top[0].logprob, *std::max_element(raw.begin(), raw.end()), 1e-5);
  EXPECT_FALSE(got.logprobs[5].has_value());

  // Row 5: the same draw as a host sampler over the penalised row with the same seed.
  std::vector<float> row5(x.begin() + 5 * V, x.begin() + 6 * V);
  apply_presence_frequency_penalty(row5, std::span(history).subspan(3), 2.0f, 1.0f);
  Sampler host(params[5]);
  EXPECT_EQ(got.ids[5], host.sample_penalized(row5));
}

TEST(RequestValidation, LogprobAndPenaltyRanges) {
  const std::vector<int32_t> prompt{1, 2};
  const RequestLimits limits{100, 64, 0, 0};
  SamplingParams p;
  p.logprobs = true;
  p.top_logprobs = kMaxTopLogprobs;
  p.presence_penalty = -2.0f;
  p.frequency_penalty = 2.0f;
  EXPECT_NO_THROW(validate_request(prompt, p, limits));
  const auto message = [&](SamplingParams q) -> std::string {
    try {
      validate_request(prompt, q, limits);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  SamplingParams q = p;
  q.top_logprobs = 21;
  EXPECT_NE(message(q).find("top_logprobs"), std::string::npos);
  q = p, q.top_logprobs = -1;
  EXPECT_NE(message(q).find("top_logprobs"), std::string::npos);
  q = p, q.logprobs = false;
  EXPECT_NE(message(q).find("needs logprobs"), std::string::npos);
  q = p, q.presence_penalty = 2.5f;
  EXPECT_NE(message(q).find("presence_penalty"), std::string::npos);
  q = p, q.frequency_penalty = -2.01f;
  EXPECT_NE(message(q).find("frequency_penalty"), std::string::npos);
  q = p, q.frequency_penalty = NAN;
  EXPECT_NE(message(q).find("frequency_penalty"), std::string::npos);
}

}  // namespace
