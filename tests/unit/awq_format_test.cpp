// AutoAWQ's GEMM packing (model/awq_format.h) and the group quantizer it stores (model/int4_groups.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "model/awq_format.h"
#include "model/int4_groups.h"
#include "support/test_helpers.h"

namespace turbine {
namespace {

TEST(AwqFormat, PackUnpackRoundTripsOnAwkwardSizes) {
  struct Size {
    int64_t n, k;
    int group;
  };
  for (Size s : {Size{8, 32, 32}, Size{24, 96, 32}, Size{136, 256, 128}, Size{40, 192, 64}, Size{8, 128, 128}}) {
    SCOPED_TRACE(::testing::Message() << s.n << "x" << s.k << " g" << s.group);
    const HostInt4Matrix m = test::random_int4_matrix(s.n, s.k, s.group, unsigned(s.n * s.k));
    const AwqTensors t = pack_awq(m);
    ASSERT_EQ(t.qweight.size(), size_t(s.k * s.n / 8));
    ASSERT_EQ(t.qzeros.size(), size_t(s.k / s.group * s.n / 8));
    ASSERT_EQ(t.scales.size(), size_t(s.k / s.group * s.n));
    const HostInt4Matrix back = unpack_awq(t.qweight.data(), t.qzeros.data(), t.scales.data(), s.n, s.k, s.group);
    EXPECT_EQ(back.q, m.q);
    EXPECT_EQ(back.zeros, m.zeros);
    EXPECT_EQ(back.scales, m.scales);
  }
}

TEST(AwqFormat, NibblesFollowAutoAwqsInterleavedOrder) {
  // Output channel c of input row 0 has the value c + 1 (c < 8): AutoAWQ's word holds the outputs in
  // the order 0 2 4 6 1 3 5 7, low nibble first.
  HostInt4Matrix m;
  m.n = 8;
  m.k = 32;
  m.group_size = 32;
  m.q.assign(8 * 32, 0);
  for (int c = 0; c < 8; ++c) m.q[size_t(c * 32)] = uint8_t(c + 1);
  m.zeros = {1, 2, 3, 4, 5, 6, 7, 8};
  m.scales.assign(8, f32_to_f16(0.5f));
  const AwqTensors t = pack_awq(m);
  EXPECT_EQ(uint32_t(t.qweight[0]), 0x86427531u);
  EXPECT_EQ(uint32_t(t.qzeros[0]), 0x86427531u);
  EXPECT_EQ(t.qweight[1], 0);
}

TEST(AwqFormat, RejectsSizesTheLayoutCannotHold) {
  EXPECT_THROW(pack_awq(test::random_int4_matrix(12, 64, 32, 1)), Error);  // outputs not a multiple of 8
  HostInt4Matrix bad = test::random_int4_matrix(8, 64, 32, 2);
  bad.group_size = 48;
  EXPECT_THROW(pack_awq(bad), Error);
  const std::vector<int32_t> words(64);
  const std::vector<uint16_t> scales(64);
  EXPECT_THROW(unpack_awq(words.data(), words.data(), scales.data(), 12, 64, 32), Error);
}

TEST(Int4Groups, RoundToNearestStaysWithinHalfAStep) {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 0.05f);
  const int64_t n = 5, k = 256;
  std::vector<float> w(size_t(n * k));
  for (float& v : w) v = d(rng);
  for (int group : {32, 64, 128}) {
    const HostInt4Matrix m = quantize_int4(w, n, k, group);
    check_int4(m, "test");
    const std::vector<float> back = dequantize_int4(m);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c) {
        const float scale = f16_to_f32(m.scales[size_t(r * (k / group) + c / group)]);
        EXPECT_LE(std::abs(back[size_t(r * k + c)] - w[size_t(r * k + c)]), 0.5f * scale * 1.01f + 1e-6f);
      }
  }
  EXPECT_THROW(quantize_int4(w, n, k, 96), Error);  // 96 does not divide 256
}

// The code of a value is clamp(nearbyint(v / scale) + zero, 0, 15) (round half to even), however
// Int4Group computes it: values on and beside the half steps, quotients past 2^22 either way, the
// smallest scale; and a group's parameters from its clamped range are those from its clamped values.
TEST(Int4Groups, CodesRoundHalfToEvenAsNearbyint) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (uint16_t scale_bits : {uint16_t(0x2c00), uint16_t(0x1a3f), uint16_t(0x3c00), uint16_t(1)}) {
    for (float zero : {0.0f, 7.0f, 15.0f}) {
      Int4Group p;
      p.scale_bits = scale_bits;
      p.scale = f16_to_f32(scale_bits);
      p.zero = zero;
      std::vector<float> values;
      for (int h = -20; h <= 20; ++h) {  // half steps and their neighbours
        const float v = (float(h) + 0.5f) * p.scale;
        values.insert(values.end(), {v, std::nextafter(v, 0.0f), std::nextafter(v, 1e30f), -v});
      }
      for (int i = 0; i < 200; ++i) values.push_back(u(rng) * 3.0f);
      for (float v : {5e6f * p.scale, -5e6f * p.scale, 3e7f * p.scale, -0.0f, 0.0f}) values.push_back(v);
      for (float v : values) {
        const float want = std::clamp(std::nearbyint(v / p.scale) + zero, 0.0f, 15.0f);
        ASSERT_EQ(p.q(v), uint8_t(want)) << "v " << v << " scale " << p.scale << " zero " << zero;
        ASSERT_EQ(p.qf(v), want) << "v " << v;
      }
    }
  }
  std::vector<float> w(128);
  for (float& v : w) v = u(rng) * 0.1f;
  for (float limit : {INFINITY, 0.08f, 0.05f, 0.001f}) {
    const Int4Group a = int4_group(w.data(), 128, limit);
    float lo = INFINITY, hi = -INFINITY;
    for (float v : w) lo = std::min(lo, v), hi = std::max(hi, v);
    const Int4Group b = int4_group_of_range(std::clamp(lo, -limit, limit), std::clamp(hi, -limit, limit));
    EXPECT_EQ(a.scale_bits, b.scale_bits) << limit;
    EXPECT_EQ(a.zero, b.zero) << limit;
  }
}

TEST(Int4Groups, ClippingShrinksTheRange) {
  std::vector<float> w(32);
  for (int i = 0; i < 32; ++i) w[size_t(i)] = float(i - 16) / 16.0f;
  w[0] = -8.0f;  // an outlier
  const std::vector<float> clip = {1.0f};
  const HostInt4Matrix plain = quantize_int4(w, 1, 32, 32), clipped = quantize_int4(w, 1, 32, 32, clip);
  EXPECT_LT(f16_to_f32(clipped.scales[0]), f16_to_f32(plain.scales[0]));
  EXPECT_NEAR(dequantize_int4(clipped)[0], -1.0f, f16_to_f32(clipped.scales[0]));
}

TEST(Int4Groups, StackingConcatenatesRows) {
  const HostInt4Matrix a = test::random_int4_matrix(8, 64, 32, 3), b = test::random_int4_matrix(16, 64, 32, 4);
  const HostInt4Matrix s = stack_int4_rows({a, b});
  EXPECT_EQ(s.n, 24);
  EXPECT_TRUE(std::equal(b.q.begin(), b.q.end(), s.q.begin() + 8 * 64));
  EXPECT_THROW(stack_int4_rows({a, test::random_int4_matrix(8, 32, 32, 5)}), Error);
}

}  // namespace
}  // namespace turbine
