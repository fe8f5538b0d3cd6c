// The CPU backend's 4-bit linear (AWQ W4A16) against the obviously-right reference: the 4-bit matrix
// dequantized to fp32 on the host (model/int4_groups.h), then a double-precision matrix product. Every
// kernel table the processor runs, token counts on both sides of the many-token form, group sizes
// 32 to 128, output counts that are not a multiple of any tile.
#include <gtest/gtest.h>

#include "model/int4_groups.h"
#include "ops/cpu_test_util.h"

namespace turbine::test {
namespace {

struct Int4Case {
  int64_t T, K, N;
  int group;
  bool bias;
};

HostInt4Matrix random_int4(std::mt19937& rng, int64_t n, int64_t k, int group) {
  const Vec w = random_vec(rng, size_t(n * k));
  return quantize_int4(to_float(w), n, k, group);
}

class CpuInt4Linear : public ::testing::TestWithParam<Int4Case> {};

TEST_P(CpuInt4Linear, MatchesDequantizedReference) {
  const Int4Case c = GetParam();
  std::mt19937 rng(unsigned(c.T * 7919 + c.K * 31 + c.N + c.group));
  const HostInt4Matrix m = random_int4(rng, c.N, c.K, c.group);
  const Vec x = random_vec(rng, size_t(c.T * c.K));
  const Vec bias = c.bias ? random_vec(rng, size_t(c.N)) : Vec{};
  const Vec want = ref_linear(x, to_double(dequantize_int4(m)), bias, c.T, c.K, c.N);
  for (CpuIsa isa : runnable_isas()) {
    SCOPED_TRACE(cpu_isa_name(isa));
    auto be = make_cpu_isa(isa);
    const LinearWeight w = be->pack_int4(m);
    ASSERT_TRUE(w.quantized());
    EXPECT_EQ(w.rows(), c.N);
    EXPECT_EQ(w.cols(), c.K);
    Tensor tx = upload_vec(*be, x, {c.T, c.K});
    Tensor tb = c.bias ? upload_vec(*be, bias, {c.N}) : Tensor{};
    Tensor out = be->empty(DType::F32, {c.T, c.N});
    be->linear(tx, w, c.bias ? &tb : nullptr, out);
    EXPECT_LE(tolerance_ratio(be->download_f32(out), want, 2e-5 * std::sqrt(double(c.K)), 1e-5), 1.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CpuInt4Linear,
                         ::testing::Values(Int4Case{1, 128, 8, 128, false}, Int4Case{1, 256, 77, 128, true},
                                           Int4Case{3, 256, 129, 64, false}, Int4Case{17, 128, 45, 32, true},
                                           Int4Case{2, 384, 300, 128, false}, Int4Case{5, 64, 3, 32, true},
                                           Int4Case{8, 256, 61, 64, false}, Int4Case{40, 512, 250, 128, true},
                                           Int4Case{1, 768, 256, 128, false}, Int4Case{130, 96, 33, 32, false},
                                           // groups of 64+ take the masked kernel: 4 + 2 token tiles, 3 chunks
                                           Int4Case{6, 192, 37, 64, true}, Int4Case{1, 96, 13, 32, false}));

TEST(CpuInt4Linear, FusedNormLinearTakesA4BitWeight) {
  auto be = make_cpu_isa(CpuIsa::Auto);
  std::mt19937 rng(3);
  const int64_t T = 3, H = 64, N = 24;
  const HostInt4Matrix m = random_int4(rng, N, H, 32);
  const Vec res = random_vec(rng, size_t(T * H)), norm_w = random_vec(rng, size_t(H), 0.5, 1.5);
  Tensor residual = upload_vec(*be, res, {T, H}), spare = be->empty(DType::F32, {T, H});
  Tensor nw = upload_vec(*be, norm_w, {H}), normed = be->empty(DType::F32, {T, H});
  ResidualStream stream{residual, spare};
  Tensor out = be->empty(DType::F32, {T, N});
  be->norm_linear(PreNorm{stream, nullptr, nw, 1e-5f, normed}, be->pack_int4(m), nullptr, out);
  const Vec want = ref_linear(ref_rms_norm(res, norm_w, 1e-5, T, H), to_double(dequantize_int4(m)), {}, T, H, N);
  EXPECT_LE(tolerance_ratio(be->download_f32(out), want, 1e-4, 1e-5), 1.0);
}

TEST(CpuInt4Linear, RejectsMismatchedShapesAndGroups) {
  auto be = make_cpu_isa(CpuIsa::Auto);
  std::mt19937 rng(5);
  const LinearWeight w = be->pack_int4(random_int4(rng, 16, 64, 32));
  Tensor x = be->empty(DType::F32, {2, 96}), out = be->empty(DType::F32, {2, 16});
  EXPECT_THROW(be->linear(x, w, nullptr, out), Error);  // K mismatch
  Tensor x2 = be->empty(DType::F32, {2, 64}), bad_out = be->empty(DType::F32, {2, 17});
  EXPECT_THROW(be->linear(x2, w, nullptr, bad_out), Error);
  Tensor bad_bias = be->empty(DType::F32, {15});
  EXPECT_THROW(be->linear(x2, w, &bad_bias, out), Error);
  // The CPU layout needs groups of whole 8-column words.
  EXPECT_THROW(be->pack_int4(random_int4(rng, 8, 36, 12)), Error);
  HostInt4Matrix short_arrays = random_int4(rng, 8, 64, 32);
  short_arrays.scales.pop_back();
  EXPECT_THROW(be->pack_int4(short_arrays), Error);
}

}  // namespace
}  // namespace turbine::test
