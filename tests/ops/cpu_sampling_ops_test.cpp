// CpuBackend::argmax_rows and top_candidates against brute force: a full stable sort of each row
// under the documented order, on rows with planted ties, NaN and -inf.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "engine/sampling_distribution.h"
#include "ops/cpu_test_util.h"

using namespace turbine;

namespace {

// Rows of `v` random logits with trouble planted: repeated values (ties, also across the k-th
// place), NaN, -inf, and +0/-0.
std::vector<float> nasty_logits(std::mt19937& rng, int64_t rows, int64_t v) {
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_int_distribution<int64_t> col(0, v - 1);
  std::vector<float> x(size_t(rows * v));
  for (auto& e : x) e = normal(rng);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x.data() + r * v;
    // A few values copied many times: ties at the top and in the middle.
    for (int rep = 0; rep < 4; ++rep) {
      const float val = row[col(rng)];
      for (int i = 0; i < int(v / 8) + 1; ++i) row[col(rng)] = val;
    }
    for (int i = 0; i < int(v / 20) + 1; ++i) row[col(rng)] = NAN;
    for (int i = 0; i < int(v / 20) + 1; ++i) row[col(rng)] = -INFINITY;
    row[col(rng)] = 0.0f;
    row[col(rng)] = -0.0f;
  }
  return x;
}

// Ids of a row sorted by the TopCandidates order: value descending, NaN last, ties by id.
std::vector<int32_t> brute_order(const float* row, int64_t v) {
  std::vector<int32_t> ids(v);
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    if (std::isnan(row[a]) || std::isnan(row[b])) return !std::isnan(row[a]) && std::isnan(row[b]);
    return row[a] > row[b];
  });
  return ids;
}

}  // namespace

TEST(CpuSamplingOps, ArgmaxRowsIsTheFirstNonNanMaximum) {
  auto be = test::make_cpu();
  std::mt19937 rng(3);
  for (int64_t v : {1, 7, 1001}) {
    const int64_t rows = 9;
    auto x = nasty_logits(rng, rows, v);
    x[0] = NAN;                                            // row 0 starts with NaN: skipped, not chosen
    for (int64_t i = 0; i < v; ++i) x[v + i] = -INFINITY;  // row 1: all -inf -> the first
    for (int64_t i = 0; i < v; ++i) x[2 * v + i] = NAN;    // row 2: all NaN -> 0
    const Tensor t = be->upload(x.data(), DType::F32, {rows, v}, DType::F32);
    const auto got = be->argmax_rows(t);
    ASSERT_EQ(got.size(), size_t(rows));
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = x.data() + r * v;
      const auto order = brute_order(row, v);
      const int32_t want = std::isnan(row[order[0]]) ? 0 : order[0];
      EXPECT_EQ(got[r], want) << "v " << v << " row " << r;
    }
  }
}

// One row of a large vocabulary is split over the threads: ties across parts, a first part of NaN, a row
// of -inf and NaN, one of NaN alone.
TEST(CpuSamplingOps, ArgmaxOfOneLongRowSplitOverThreads) {
  auto be = test::make_cpu(4);
  const int64_t v = 20011;
  std::vector<std::vector<float>> rows(5, std::vector<float>(size_t(v)));
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-5.0f, 5.0f);
  for (auto& row : rows)
    for (float& x : row) x = u(rng);
  rows[0][15000] = 9.0f, rows[0][17] = 9.0f, rows[0][9000] = 9.0f;  // a tie: the lowest index wins
  for (int64_t i = 0; i < v / 2; ++i) rows[1][size_t(i)] = NAN;       // the first parts hold no candidate
  rows[1][19999] = 8.0f;
  for (int64_t i = 0; i < v; ++i) rows[2][size_t(i)] = i < 12000 ? NAN : -INFINITY;  // the first -inf
  for (float& x : rows[3]) x = NAN;                                                  // 0
  rows[4][v - 1] = 7.0f;  // the very last element
  const std::vector<int32_t> want = {17, 19999, 12000, 0, int32_t(v - 1)};
  for (size_t r = 0; r < rows.size(); ++r) {
    const Tensor t = be->upload(rows[r].data(), DType::F32, {1, v}, DType::F32);
    EXPECT_EQ(be->argmax_rows(t), std::vector<int32_t>{want[r]}) << "row " << r;
  }
}

TEST(CpuSamplingOps, TopCandidatesMatchBruteForce) {
  auto be = test::make_cpu();
  std::mt19937 rng(11);
  for (int64_t v : {5, 1001, 4096})
    for (int k : {1, 2, 50, 256, 1024}) {
      const int64_t rows = 6;
      auto x = nasty_logits(rng, rows, v);
      for (int64_t i = 0; i < v; ++i) x[i] = i % 3 ? NAN : -INFINITY;  // row 0: nothing finite
      const Tensor t = be->upload(x.data(), DType::F32, {rows, v}, DType::F32);
      const std::vector<int32_t> pick = {5, 0, 3, 3, 1};  // a subset, one row twice
      const std::vector<float> temps = {1.0f, 0.7f, 2.0f, 0.5f, 1.3f};
      const TopCandidates tc = be->top_candidates(t, pick, temps, k);
      const int64_t kk = std::min<int64_t>(k, v);
      ASSERT_EQ(tc.rows, int64_t(pick.size()));
      ASSERT_EQ(tc.k, kk);
      for (size_t i = 0; i < pick.size(); ++i) {
        const float* row = x.data() + pick[i] * v;
        const auto order = brute_order(row, v);
        for (int64_t j = 0; j < kk; ++j) {
          ASSERT_EQ(tc.ids[i * kk + j], order[j]) << "v " << v << " k " << k << " row " << pick[i] << " #" << j;
          const float want = row[order[j]], got = tc.values[i * kk + j];
          ASSERT_TRUE(got == want || (std::isnan(got) && std::isnan(want)));
        }
        float mx = -INFINITY;
        double sum = 0;
        for (int64_t j = 0; j < v; ++j)
          if (!std::isnan(row[j])) mx = std::max(mx, row[j]);
        if (mx != -INFINITY)
          for (int64_t j = 0; j < v; ++j)
            if (!std::isnan(row[j])) sum += std::exp((double(row[j]) - mx) / temps[i]);
        EXPECT_EQ(tc.row_max[i], mx);
        EXPECT_NEAR(tc.sum_exp[i], sum, 1e-6 * sum);
        if (pick[i] == 0)
          EXPECT_EQ(tc.sum_exp[i], 0.0f);
        else
          EXPECT_GE(tc.sum_exp[i], 1.0f);
      }
    }
}

TEST(CpuSamplingOps, TopCandidatesRejectBadArguments) {
  auto be = test::make_cpu();
  std::vector<float> x(20, 1.0f);
  const Tensor t = be->upload(x.data(), DType::F32, {2, 10}, DType::F32);
  const std::vector<int32_t> rows = {1};
  const std::vector<float> temps = {1.0f}, zero = {0.0f};
  EXPECT_THROW(be->top_candidates(t, rows, temps, 0), Error);
  EXPECT_THROW(be->top_candidates(t, rows, temps, kMaxTopCandidates + 1), Error);
  EXPECT_THROW(be->top_candidates(t, rows, zero, 3), Error);
  EXPECT_THROW(be->top_candidates(t, std::vector<int32_t>{2}, temps, 3), Error);
  EXPECT_THROW(be->top_candidates(t, rows, std::vector<float>{}, 3), Error);
  EXPECT_EQ(be->top_candidates(t, rows, temps, 3).ids, (std::vector<int32_t>{0, 1, 2}));  // all tied: by id
}

TEST(CpuSamplingOps, RepetitionPenaltyMatchesTheSamplersRule) {
  auto be = test::make_cpu();
  std::mt19937 rng(8);
  const int64_t rows = 3, v = 50;
  auto x = nasty_logits(rng, rows, v);
  x[2 * v + 17] = 2.0f, x[2 * v + 23] = -3.0f;
  Tensor t = be->upload(x.data(), DType::F32, {rows, v}, DType::F32);
  const std::vector<int32_t> history = {4, 4, 17, 0, 49, 23, 1000, -1};
  const auto ids = penalty_ids(history, v);
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 4, 17, 23, 49}));
  std::vector<int32_t> pr, pi;
  std::vector<float> pp;
  for (int32_t id : ids) pr.push_back(2), pi.push_back(id), pp.push_back(1.7f);  // row 2 only
  be->repetition_penalty(t, pr, pi, pp);
  const auto got = be->download_f32(t);
  std::vector<float> want = x;
  apply_repetition_penalty(std::span<float>(want).subspan(2 * v, v), history, 1.7f);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_TRUE(got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i]))) << i;
  EXPECT_EQ(got[2 * v + 17], 2.0f / 1.7f);
  EXPECT_EQ(got[2 * v + 23], -3.0f * 1.7f);
  EXPECT_THROW(be->repetition_penalty(t, std::vector<int32_t>{3}, std::vector<int32_t>{0}, std::vector<float>{2.0f}),
               Error);
}
