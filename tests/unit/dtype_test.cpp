#include <gtest/gtest.h>

#include <cmath>
#include <random>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/dtype.h"

using namespace turbine;

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  // 1 + 2^-8 is exactly half-way between bf16 1.0 and 1.0078125: ties go to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST(DType, F16RoundTripsAndMatchesKnownBits) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  for (uint32_t h = 0; h < 0x7c00; ++h) EXPECT_EQ(f32_to_f16(f16_to_f32(uint16_t(h))), h);
}

#if defined(__x86_64__)
// The F16C instruction's rounding, compiled for F16C in this function only (the build sets no global
// instruction-set flags); called only where cpuid says the processor has it.
static __attribute__((target("f16c"))) uint16_t hardware_f32_to_f16(float x) { return _cvtss_sh(x, 0); }
static bool have_f16c() { return __builtin_cpu_supports("f16c"); }
#else
static uint16_t hardware_f32_to_f16(float) { return 0; }
static bool have_f16c() { return false; }
#endif

TEST(DType, F16RoundingMatchesHardware) {
  if (!have_f16c()) GTEST_SKIP() << "this processor has no F16C";
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-70000.f, 70000.f);
  for (int i = 0; i < 100000; ++i) {
    const float x = dist(rng) * (i % 2 ? 1e-6f : 1.f);
    const uint16_t ours = f32_to_f16(x);
    ASSERT_EQ(ours, hardware_f32_to_f16(x)) << x;
  }
}
