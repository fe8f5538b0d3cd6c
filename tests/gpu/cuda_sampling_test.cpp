// CUDA argmax_rows and top_candidates against the CPU reference: the same ids and values to the
// bit (selection is exact), the normaliser within fp32 summation error; rows with planted ties
// at the k-th place, NaN, -inf, all-equal and all-NaN rows. Then whole sampling steps through
// sample_on_device on both backends.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/device_sampling.h"
#include "gpu_test_util.h"

namespace turbine::test {
namespace {

// R rows of V logits; row 0 all equal, row 1 all NaN but three, the rest random with the value
// at place k (in descending order) copied to 12 random places, NaN and -inf sprinkled in.
std::vector<float> planted_logits(std::mt19937& rng, int64_t rows, int64_t v, int k) {
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::uniform_int_distribution<int64_t> col(0, v - 1);
  std::vector<float> x(size_t(rows * v));
  for (auto& e : x) e = normal(rng);
  std::fill(x.begin(), x.begin() + v, 0.25f);
  std::fill(x.begin() + v, x.begin() + 2 * v, NAN);
  x[v + 3] = -1.0f, x[v + v / 2] = 2.0f, x[2 * v - 1] = -INFINITY;
  for (int64_t r = 2; r < rows; ++r) {
    float* row = x.data() + r * v;
    std::vector<float> sorted(row, row + v);
    const int64_t place = std::min<int64_t>(k, v) - 1;
    std::nth_element(sorted.begin(), sorted.begin() + place, sorted.end(), std::greater<>());
    for (int i = 0; i < 12; ++i) row[col(rng)] = sorted[place];
    if (r % 2) {
      for (int i = 0; i < 9; ++i) row[col(rng)] = NAN;
      for (int i = 0; i < 9; ++i) row[col(rng)] = -INFINITY;
    }
  }
  return x;
}

class CudaSampling : public ::testing::Test {
 protected:
  void SetUp() override {
    TURBINE_REQUIRE_GPU();
    cpu = make_cpu();
    gpu = make_gpu(DType::BF16);
  }
  std::unique_ptr<Backend> cpu, gpu;
  std::mt19937 rng{99};
};

TEST_F(CudaSampling, ArgmaxRowsMatchesCpu) {
  for (int64_t v : {1001, 32000, 151936}) {
    const int64_t rows = 7;
    const auto x = planted_logits(rng, rows, v, 1);
    const Tensor c = cpu->upload(x.data(), DType::F32, {rows, v}, DType::F32);
    const Tensor g = gpu->upload(x.data(), DType::F32, {rows, v}, DType::F32);
    EXPECT_EQ(gpu->argmax_rows(g), cpu->argmax_rows(c)) << "v " << v;
  }
}

TEST_F(CudaSampling, TopCandidatesMatchCpu) {
  for (int64_t v : {1001, 32000, 151936})
    for (int k : {1, 50, 256, 1024}) {
      const int64_t rows = 6;
      const auto x = planted_logits(rng, rows, v, k);
      const Tensor c = cpu->upload(x.data(), DType::F32, {rows, v}, DType::F32);
      const Tensor g = gpu->upload(x.data(), DType::F32, {rows, v}, DType::F32);
      const std::vector<int32_t> pick = {5, 0, 1, 2, 3, 4, 2};
      const std::vector<float> temps = {1.0f, 0.6f, 1.0f, 1.5f, 0.8f, 1.0f, 0.3f};
      const TopCandidates want = cpu->top_candidates(c, pick, temps, k);
      const TopCandidates got = gpu->top_candidates(g, pick, temps, k);
      ASSERT_EQ(got.rows, want.rows);
      ASSERT_EQ(got.k, want.k);
      EXPECT_EQ(got.ids, want.ids) << "v " << v << " k " << k;
      ASSERT_EQ(got.values.size(), want.values.size());
      for (size_t i = 0; i < want.values.size(); ++i) {
        const bool same = got.values[i] == want.values[i] || (std::isnan(got.values[i]) && std::isnan(want.values[i]));
        ASSERT_TRUE(same) << "v " << v << " k " << k << " #" << i << " " << got.values[i] << " vs " << want.values[i];
      }
      EXPECT_EQ(got.row_max, want.row_max);
      for (size_t r = 0; r < pick.size(); ++r)
        EXPECT_NEAR(got.sum_exp[r], want.sum_exp[r], 2e-5 * want.sum_exp[r]) << "v " << v << " row " << pick[r];
    }
}

TEST_F(CudaSampling, RepetitionPenaltyMatchesCpuExactly) {
  const int64_t rows = 4, v = 32000;
  const auto x = planted_logits(rng, rows, v, 7);
  Tensor c = cpu->upload(x.data(), DType::F32, {rows, v}, DType::F32);
  Tensor g = gpu->upload(x.data(), DType::F32, {rows, v}, DType::F32);
  // Distinct (row, id) pairs, as the op requires: rows 1..3, ids spread and random.
  std::uniform_int_distribution<int64_t> col(0, v - 1);
  std::vector<int64_t> keys;
  for (int64_t r : {1, 2, 3})
    for (int i = 0; i < 300; ++i) keys.push_back(r * v + (i < 100 ? i * 17 : col(rng)));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<int32_t> pr, pi;
  std::vector<float> pp;
  for (int64_t key : keys)
    pr.push_back(int32_t(key / v)), pi.push_back(int32_t(key % v)), pp.push_back(key / v == 3 ? 0.7f : 1.3f);
  cpu->repetition_penalty(c, pr, pi, pp);
  gpu->repetition_penalty(g, pr, pi, pp);
  const auto want = cpu->download_f32(c), got = gpu->download_f32(g);
  ASSERT_EQ(got.size(), want.size());
  size_t changed = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i]))) << i;
    changed += !(want[i] == x[i]) && !std::isnan(x[i]);
  }
  EXPECT_GT(changed, 500u);
}

// Whole sampling steps: the GPU backend's sample_on_device picks what the CPU backend's does.
TEST_F(CudaSampling, SampleOnDeviceMatchesCpu) {
  std::vector<SamplingParams> params;
  for (float t : {0.0f, 0.7f, 1.2f})
    for (int top_k : {0, 40})
      for (float top_p : {1.0f, 0.9f}) {
        SamplingParams p;
        p.temperature = t, p.top_k = top_k, p.top_p = top_p, p.min_p = top_k ? 0.0f : 0.05f;
        params.push_back(p);
        p.repetition_penalty = 1.3f;
        params.push_back(p);
      }
  // Rows that leave the device raw (logprobs, presence/frequency penalties) beside the others.
  for (float t : {0.0f, 0.8f}) {
    SamplingParams p;
    p.temperature = t, p.logprobs = true, p.top_logprobs = 5, p.presence_penalty = 0.5f, p.frequency_penalty = 0.3f;
    p.repetition_penalty = 1.2f;
    params.push_back(p);
  }
  const int64_t R = int64_t(params.size()), v = 32000;
  std::vector<Sampler> on_gpu, on_cpu;
  for (int64_t r = 0; r < R; ++r) {
    params[r].seed = 7 + r;
    on_gpu.emplace_back(params[r]);
    on_cpu.emplace_back(params[r]);
  }
  std::vector<int32_t> history;  // many ids, so the penalty moves the top of the rows
  for (int32_t i = 0; i < 4000; i += 3) history.push_back(i);
  std::vector<SamplingRow> sg, sc;
  for (int64_t r = 0; r < R; ++r) {
    // The last 1000 ids of the history count as generated (presence/frequency penalties).
    sg.push_back({&on_gpu[r], history, history.size() - 1000});
    sc.push_back({&on_cpu[r], history, history.size() - 1000});
  }
  for (int step = 0; step < 8; ++step) {
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> x(size_t(R * v));
    for (auto& e : x) e = normal(rng);
    const Tensor c = cpu->upload(x.data(), DType::F32, {R, v}, DType::F32);
    const Tensor g = gpu->upload(x.data(), DType::F32, {R, v}, DType::F32);
    Tensor gl = g, cl = c;
    const SampledRows on_g = sample_on_device(*gpu, gl, sg), on_c = sample_on_device(*cpu, cl, sc);
    EXPECT_EQ(on_g.ids, on_c.ids) << "step " << step;
    EXPECT_GT(on_g.counts.candidates, 0);
    for (int64_t r = 0; r < R; ++r) {
      ASSERT_EQ(on_g.logprobs[r].has_value(), params[r].logprobs) << "row " << r;
      if (!params[r].logprobs) continue;
      // Raw rows leave both devices unchanged, so the host computes the same numbers.
      EXPECT_EQ(on_g.logprobs[r]->chosen.logprob, on_c.logprobs[r]->chosen.logprob) << "row " << r;
      ASSERT_EQ(on_g.logprobs[r]->top.size(), 5u);
      for (size_t i = 0; i < 5; ++i) EXPECT_EQ(on_g.logprobs[r]->top[i].id, on_c.logprobs[r]->top[i].id);
    }
  }
}

}  // namespace
}  // namespace turbine::test
