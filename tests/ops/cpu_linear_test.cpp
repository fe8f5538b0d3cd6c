// CpuBackend::linear against the double-precision reference, over awkward sizes that exercise
// every micro-kernel tail (T % 4, N % 4, K % 8) and the multi-block split over threads.
#include <gtest/gtest.h>

#include "ops/cpu_test_util.h"

namespace turbine::test {
namespace {

struct LinearCase {
  int64_t T, K, N;
  bool bias;
};

class CpuLinear : public ::testing::TestWithParam<LinearCase> {};

TEST_P(CpuLinear, MatchesReference) {
  const auto c = GetParam();
  auto be = make_cpu();
  std::mt19937 rng(unsigned(c.T * 1000 + c.K * 10 + c.N));
  const Vec x = random_vec(rng, size_t(c.T * c.K)), w = random_vec(rng, size_t(c.N * c.K));
  const Vec bias = c.bias ? random_vec(rng, size_t(c.N)) : Vec{};
  Tensor tx = upload_vec(*be, x, {c.T, c.K}), tw = upload_vec(*be, w, {c.N, c.K});
  Tensor tb = c.bias ? upload_vec(*be, bias, {c.N}) : Tensor{};
  Tensor out = be->empty(DType::F32, {c.T, c.N});
  be->linear(tx, tw, c.bias ? &tb : nullptr, out);
  const Vec want = ref_linear(x, w, bias, c.T, c.K, c.N);
  EXPECT_LE(tolerance_ratio(be->download_f32(out), want, 1e-5 * std::sqrt(double(c.K)), 1e-5), 1.0);
}

INSTANTIATE_TEST_SUITE_P(Sizes, CpuLinear,
                         ::testing::Values(LinearCase{1, 1, 1, false}, LinearCase{1, 13, 7, true},
                                           LinearCase{2, 37, 129, false}, LinearCase{3, 64, 5, true},
                                           LinearCase{5, 256, 300, false}, LinearCase{17, 100, 33, true},
                                           LinearCase{64, 257, 65, false}, LinearCase{7, 1031, 19, true},
                                           LinearCase{130, 72, 1001, false}));

TEST(CpuLinear, RejectsMismatchedShapes) {
  auto be = make_cpu();
  Tensor x = be->empty(DType::F32, {2, 8}), w = be->empty(DType::F32, {4, 9}), out = be->empty(DType::F32, {2, 4});
  EXPECT_THROW(be->linear(x, w, nullptr, out), Error);
  Tensor w2 = be->empty(DType::F32, {4, 8}), bad_out = be->empty(DType::F32, {2, 5});
  EXPECT_THROW(be->linear(x, w2, nullptr, bad_out), Error);
  Tensor bad_bias = be->empty(DType::F32, {3});
  EXPECT_THROW(be->linear(x, w2, &bad_bias, out), Error);
}

TEST(CpuLinear, SameResultWithOneOrManyThreads) {
  auto one = make_cpu(1), many = make_cpu(3);
  std::mt19937 rng(7);
  const Vec x = random_vec(rng, 9 * 200), w = random_vec(rng, 517 * 200);
  std::vector<float> results[2];
  int i = 0;
  for (CpuBackend* be : {one.get(), many.get()}) {
    Tensor tx = upload_vec(*be, x, {9, 200}), tw = upload_vec(*be, w, {517, 200});
    Tensor out = be->empty(DType::F32, {9, 517});
    be->linear(tx, tw, nullptr, out);
    results[i++] = be->download_f32(out);
  }
  EXPECT_EQ(results[0], results[1]);  // each output is computed by one thread, in the same order
}

}  // namespace
}  // namespace turbine::test
