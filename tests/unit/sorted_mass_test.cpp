// Full-row sampling without a sort (SortedMass: the plain temperature draw, top-p and min-p cut
// before sorting) against the algorithm it replaced, written out plainly here: sort every finite
// logit, cut, softmax, walk the cumulative distribution. The same kept tokens, the same
// probabilities and the same drawn ids, over row sizes from 1 to Qwen3's 151,936, peaked, flat and
// tied rows, -inf and NaN entries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "core/error.h"
#include "engine/sampler.h"
#include "engine/sampling_distribution.h"
#include "engine/sorted_mass.h"

using namespace turbine;

namespace {

// The sort-everything algorithm as it stood before SortedMass.
std::vector<TokenProb> reference_distribution(const std::vector<float>& logits, const SamplingParams& params) {
  std::vector<ScaledLogit> cand;
  for (size_t i = 0; i < logits.size(); ++i)
    if (!std::isnan(logits[i]) && logits[i] != -INFINITY)
      cand.push_back({int32_t(i), double(logits[i]) / params.temperature});
  if (cand.empty()) throw Error("every logit is -inf or NaN: nothing to sample");
  std::sort(cand.begin(), cand.end(), [](const ScaledLogit& a, const ScaledLogit& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  });
  if (params.top_k > 0 && size_t(params.top_k) < cand.size()) {
    const double kth = cand[params.top_k - 1].logit;
    size_t keep = params.top_k;
    while (keep < cand.size() && cand[keep].logit == kth) ++keep;
    cand.resize(keep);
  }
  auto softmax = [&] {
    std::vector<double> p(cand.size());
    double sum = 0;
    for (size_t i = 0; i < cand.size(); ++i) sum += p[i] = std::exp(cand[i].logit - cand[0].logit);
    for (auto& x : p) x /= sum;
    return p;
  };
  if (params.top_p < 1.0f) {  // drop from the least likely up while the dropped mass <= 1 - top_p
    const auto p = softmax();
    double dropped = 0;
    size_t keep = cand.size();
    while (keep > 1 && (dropped += p[keep - 1]) <= 1.0 - double(params.top_p)) --keep;
    cand.resize(keep);
  }
  if (params.min_p > 0.0f) {
    const auto p = softmax();
    size_t keep = 1;
    while (keep < cand.size() && p[keep] >= double(params.min_p) * p[0]) ++keep;
    cand.resize(keep);
  }
  const auto p = softmax();
  std::vector<TokenProb> out;
  for (size_t i = 0; i < cand.size(); ++i) out.push_back({cand[i].id, p[i]});
  return out;
}

// The walk Sampler did: the first token whose cumulative probability exceeds u, else the last.
int32_t reference_draw(const std::vector<TokenProb>& dist, double u) {
  double cumulative = 0;
  for (const auto& t : dist)
    if (u < (cumulative += t.prob)) return t.id;
  return dist.back().id;
}

enum class Shape { Peaked, Flat, Tied, Nasty };
const char* name(Shape s) {
  switch (s) {
    case Shape::Peaked: return "peaked";
    case Shape::Flat: return "flat";
    case Shape::Tied: return "tied";
    case Shape::Nasty: return "nasty";
  }
  return "?";
}

// Peaked: an LM-like row, a few large logits over a long normal tail. Flat: normal(0, 0.3), the
// whole row in a few of SortedMass's buckets. Tied: normal(0, 3) rounded to halves, long runs of
// equal logits. Nasty: normal(0, 3) with a tenth NaN, a tenth -inf and runs of copied values.
std::vector<float> make_row(std::mt19937& rng, size_t v, Shape shape) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<size_t> col(0, v - 1);
  std::vector<float> x(v);
  switch (shape) {
    case Shape::Peaked: {
      for (auto& e : x) e = 2.0f * normal(rng);
      const int head = std::uniform_int_distribution<int>(1, 20)(rng);
      for (int r = 0; r < head; ++r) x[col(rng)] = std::uniform_real_distribution<float>(8.0f, 16.0f)(rng);
      break;
    }
    case Shape::Flat:
      for (auto& e : x) e = 0.3f * normal(rng);
      break;
    case Shape::Tied:
      for (auto& e : x) e = std::round(6.0f * normal(rng)) / 2.0f;
      break;
    case Shape::Nasty: {
      for (auto& e : x) e = 3.0f * normal(rng);
      for (size_t i = 0; i < v / 10; ++i) x[col(rng)] = NAN;
      for (size_t i = 0; i < v / 10; ++i) x[col(rng)] = -INFINITY;
      for (int rep = 0; rep < 3; ++rep) {
        const float val = x[col(rng)];
        for (size_t i = 0; i < std::max<size_t>(1, v / 50); ++i) x[col(rng)] = val;
      }
      if (std::none_of(x.begin(), x.end(), [](float e) { return std::isfinite(e); })) x[0] = 1.0f;
      break;
    }
  }
  return x;
}

SamplingParams params_of(float temperature, float top_p, float min_p, int top_k, uint64_t seed) {
  SamplingParams p;
  p.temperature = temperature, p.top_p = top_p, p.min_p = min_p, p.top_k = top_k, p.seed = seed;
  return p;
}

std::string describe(size_t v, Shape shape, const SamplingParams& p) {
  return "v " + std::to_string(v) + " " + name(shape) + " t " + std::to_string(p.temperature) + " top_p " +
         std::to_string(p.top_p) + " min_p " + std::to_string(p.min_p) + " top_k " + std::to_string(p.top_k);
}

void expect_same_distribution(const std::vector<TokenProb>& got, const std::vector<TokenProb>& want,
                              const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].id, want[i].id) << what << " at " << i;
    ASSERT_NEAR(got[i].prob, want[i].prob, 1e-12) << what << " at " << i;
  }
}

// `draws` tokens from a Sampler seeded with params.seed against the reference walk with the same
// uniform draws; returns how many differ.
int draw_mismatches(const std::vector<float>& row, const SamplingParams& params, const std::vector<TokenProb>& want,
                    int draws) {
  Sampler sampler(params);
  std::mt19937_64 rng(params.seed);
  int mismatches = 0;
  for (int i = 0; i < draws; ++i) {
    auto work = row;
    const int32_t got = sampler.sample_penalized(work);
    mismatches += got != reference_draw(want, std::uniform_real_distribution<double>(0.0, 1.0)(rng));
  }
  return mismatches;
}

constexpr int kHugeTopK = 1 << 30;

}  // namespace

TEST(SortedMass, SameDistributionAndDrawsAsSortingEverything) {
  std::mt19937 rng(11);
  uint64_t seed = 100;
  int cases = 0, draws_checked = 0;
  for (size_t v : {size_t(1), size_t(2), size_t(7), size_t(300), size_t(5000)})
    for (Shape shape : {Shape::Peaked, Shape::Flat, Shape::Tied, Shape::Nasty})
      for (float t : {0.3f, 1.0f, 1.7f}) {
        const auto row = make_row(rng, v, shape);
        for (float top_p : {1.0f, 0.95f, 0.5f})
          for (float min_p : {0.0f, 0.05f})
            for (int top_k : {0, 40, kHugeTopK}) {
              const auto params = params_of(t, top_p, min_p, top_k, ++seed);
              const auto what = describe(v, shape, params);
              const auto want = reference_distribution(row, params);
              expect_same_distribution(sampling_distribution(row, params), want, what);
              const int draws = v <= 300 ? 1000 : 40;
              EXPECT_EQ(draw_mismatches(row, params, want, draws), 0) << what;
              ++cases, draws_checked += draws;
            }
      }
  EXPECT_EQ(cases, 5 * 4 * 3 * 3 * 2 * 3);
  EXPECT_GT(draws_checked, 500000);
}

TEST(SortedMass, SameAsSortingEverythingAtQwen3sVocabulary) {
  const size_t v = 151936;
  std::mt19937 rng(12);
  uint64_t seed = 500;
  for (Shape shape : {Shape::Peaked, Shape::Flat, Shape::Tied, Shape::Nasty})
    for (float t : {0.3f, 1.0f, 1.7f}) {
      const auto row = make_row(rng, v, shape);
      for (auto [top_p, min_p] : {std::pair{1.0f, 0.0f}, {0.95f, 0.0f}, {0.5f, 0.05f}, {1.0f, 0.05f}}) {
        const auto params = params_of(t, top_p, min_p, 0, ++seed);
        const auto what = describe(v, shape, params);
        const auto want = reference_distribution(row, params);
        expect_same_distribution(sampling_distribution(row, params), want, what);
        // A draw with top-p or min-p sorts what they keep, most of a row that is not peaked: fewer.
        const bool plain = top_p == 1.0f && min_p == 0.0f;
        EXPECT_EQ(draw_mismatches(row, params, want, plain ? 60 : shape == Shape::Peaked ? 30 : 5), 0) << what;
      }
    }
}

// The locate step alone, many targets per row: the plain temperature draw is u * total located.
TEST(SortedMass, LocatesTheReferenceWalksToken) {
  std::mt19937 rng(13);
  std::mt19937_64 uniform_rng(14);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  int located = 0;
  for (size_t v : {size_t(1), size_t(2), size_t(7), size_t(300), size_t(5000), size_t(151936)})
    for (Shape shape : {Shape::Peaked, Shape::Flat, Shape::Tied, Shape::Nasty})
      for (float t : {0.3f, 1.0f, 1.7f}) {
        const auto row = make_row(rng, v, shape);
        const auto params = params_of(t, 1.0f, 0.0f, 0, 0);
        const auto want = reference_distribution(row, params);
        const ScaledCandidates cand = scaled_candidates(row, params);
        ASSERT_TRUE(plain_temperature(cand, params));
        const SortedMass mass(cand.tokens, cand.top);
        for (int i = 0; i < (v < 151936 ? 2000 : 150); ++i, ++located) {
          const double u = uniform(uniform_rng);
          ASSERT_EQ(mass.locate(u * mass.total(), false).id, reference_draw(want, u)) << describe(v, shape, params);
        }
      }
  EXPECT_GT(located, 100000);
}

// Logits on a grid of 1/8: at temperature 1 every token sits exactly on a bucket's edge, the
// case where a bucket's range and its weighing must agree. Each token that holds more than 1e-9
// is located at the middle of its stretch of the cumulative distribution.
TEST(SortedMass, TokensOnTheBucketEdges) {
  std::vector<float> row(4000);
  for (size_t i = 0; i < row.size(); ++i) row[i] = 3.0f - float((i * 7) % 400) / 8.0f;  // ten ties a level
  for (float t : {1.0f, 0.5f, 0.7f}) {
    const auto params = params_of(t, 1.0f, 0.0f, 0, 0);
    const auto want = reference_distribution(row, params);
    const ScaledCandidates cand = scaled_candidates(row, params);
    const SortedMass mass(cand.tokens, cand.top);
    double cumulative = 0;
    int checked = 0;
    for (const auto& tok : want) {
      const double u = cumulative + tok.prob / 2;
      cumulative += tok.prob;
      if (tok.prob < 1e-9) continue;
      ASSERT_EQ(mass.locate(u * mass.total(), false).id, tok.id) << "t " << t;
      ++checked;
    }
    EXPECT_GT(checked, 300) << "t " << t;
  }
}

TEST(SortedMass, TiesGoToTheLowerIdFirst) {
  // Eight equal logits: each token holds exactly 1/8, so the boundaries fall on exact sums.
  const std::vector<float> row(8, 0.5f);
  const auto params = params_of(1.0f, 1.0f, 0.0f, 0, 0);
  const ScaledCandidates cand = scaled_candidates(row, params);
  const SortedMass mass(cand.tokens, cand.top);
  ASSERT_EQ(mass.total(), 8.0);
  for (int k = 0; k < 8; ++k) {
    EXPECT_EQ(mass.locate(k, false).id, k);        // the sum exceeds k first at token k
    EXPECT_EQ(mass.locate(k + 0.5, false).id, k);  // inside token k
    EXPECT_EQ(mass.locate(k + 1, true).id, k);     // the sum reaches k + 1 at token k
    EXPECT_EQ(reference_draw(reference_distribution(row, params), k / 8.0), k);
  }
  // Past the total (rounding can leave u * total there): the least likely token, the last of the ties.
  EXPECT_EQ(mass.locate(8, false).id, 7);
  EXPECT_EQ(mass.locate(9, true).id, 7);
  // Top-p 0.5 keeps exactly the first half: what it drops holds 0.5 <= 1 - 0.5.
  const auto half = sampling_distribution(row, params_of(1.0f, 0.5f, 0.0f, 0, 0));
  expect_same_distribution(half, reference_distribution(row, params_of(1.0f, 0.5f, 0.0f, 0, 0)), "eight ties");
  ASSERT_EQ(half.size(), 4u);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(half[k].id, k);
}

TEST(SortedMass, AWholeRowOfTiesIsHalvedNotSorted) {
  // Every token in the top bucket: locate halves it with nth_element; token k holds [k, k + 1).
  const size_t v = 151936;
  const std::vector<float> row(v, -2.0f);
  const auto params = params_of(1.0f, 1.0f, 0.0f, 0, 0);
  const ScaledCandidates cand = scaled_candidates(row, params);
  const SortedMass mass(cand.tokens, cand.top);
  for (size_t k : {size_t(0), size_t(1), size_t(255), size_t(256), size_t(75967), size_t(75968), v - 2, v - 1}) {
    EXPECT_EQ(mass.locate(double(k) + 0.5, false).id, int32_t(k));
    EXPECT_EQ(mass.locate(double(k), false).id, int32_t(k));
  }
  EXPECT_EQ(mass.locate(double(v), false).id, int32_t(v - 1));
}

TEST(SortedMass, OneFiniteLogit) {
  std::vector<float> row(5000, -INFINITY);
  row[10] = NAN;
  row[4321] = -3.0f;
  for (float top_p : {1.0f, 0.5f})
    for (float min_p : {0.0f, 0.05f})
      for (int top_k : {0, 1, 40}) {
        const auto params = params_of(0.7f, top_p, min_p, top_k, 3);
        const auto dist = sampling_distribution(row, params);
        ASSERT_EQ(dist.size(), 1u);
        EXPECT_EQ(dist[0].id, 4321);
        EXPECT_EQ(dist[0].prob, 1.0);
        Sampler sampler(params);
        for (int i = 0; i < 20; ++i) {
          auto work = row;
          EXPECT_EQ(sampler.sample_penalized(work), 4321);
        }
      }
  std::vector<float> single = {2.5f};
  EXPECT_EQ(Sampler(params_of(1.0f, 1.0f, 0.0f, 0, 1)).sample_penalized(single), 0);
}

TEST(SortedMass, AllEqualLogits) {
  std::mt19937 rng(15);
  // 1024: every probability and every boundary a power of two, exact both ways (with 1000 the
  // reference's sum of 500 rounded thousandths would decide top-p 0.5 by its rounding).
  for (size_t v : {size_t(3), size_t(1024)})
    for (float top_p : {1.0f, 0.95f, 0.5f})
      for (float min_p : {0.0f, 0.05f}) {
        const std::vector<float> row(v, std::uniform_real_distribution<float>(-5, 5)(rng));
        const auto params = params_of(1.3f, top_p, min_p, 0, 9);
        const auto want = reference_distribution(row, params);
        const auto what = describe(v, Shape::Flat, params);
        expect_same_distribution(sampling_distribution(row, params), want, what);
        EXPECT_EQ(draw_mismatches(row, params, want, 500), 0) << what;
      }
}

TEST(SortedMass, NothingToSampleFailsAsBefore) {
  const std::vector<float> row = {-INFINITY, NAN, -INFINITY, NAN};
  for (float top_p : {1.0f, 0.9f})
    for (int top_k : {0, 2}) {
      const auto params = params_of(1.0f, top_p, 0.0f, top_k, 0);
      try {
        sampling_distribution(row, params);
        ADD_FAILURE() << "no error";
      } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "every logit is -inf or NaN: nothing to sample");
      }
      try {
        auto work = row;
        Sampler(params).sample_penalized(work);
        ADD_FAILURE() << "no error";
      } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "every logit is -inf or NaN: nothing to sample");
      }
    }
}

TEST(SortedMass, PlainTemperatureOnlyWhenNothingElseCuts) {
  const std::vector<float> row = {1.0f, 2.0f, 3.0f, 3.0f, NAN};
  auto plain = [&](const SamplingParams& p) { return plain_temperature(scaled_candidates(row, p), p); };
  EXPECT_TRUE(plain(params_of(1.0f, 1.0f, 0.0f, 0, 0)));
  EXPECT_TRUE(plain(params_of(1.0f, 1.0f, 0.0f, 4, 0)));  // top-k 4 of 4 finite: nothing cut
  EXPECT_FALSE(plain(params_of(1.0f, 1.0f, 0.0f, 3, 0)));
  EXPECT_FALSE(plain(params_of(1.0f, 1.0f, 0.0f, 1, 0)));  // both 3s stay, the rest go
  const std::vector<float> ties = {3.0f, 1.0f, 1.0f, 1.0f};
  const auto k2 = params_of(1.0f, 1.0f, 0.0f, 2, 0);  // the 2nd largest ties the rest: nothing cut
  EXPECT_TRUE(plain_temperature(scaled_candidates(ties, k2), k2));
  EXPECT_FALSE(plain(params_of(1.0f, 0.9f, 0.0f, 0, 0)));
  EXPECT_FALSE(plain(params_of(1.0f, 1.0f, 0.1f, 0, 0)));
  // A +inf logit leaves the +inf tokens alone, as equal finite logits: a plain draw among them.
  const std::vector<float> inf_row = {1.0f, INFINITY, 2.0f, INFINITY};
  const auto p = params_of(1.0f, 1.0f, 0.0f, 0, 0);
  const ScaledCandidates inf = scaled_candidates(inf_row, p);
  EXPECT_TRUE(plain_temperature(inf, p));
  ASSERT_EQ(inf.tokens.size(), 2u);
  EXPECT_EQ(inf.top, 0.0);
}
