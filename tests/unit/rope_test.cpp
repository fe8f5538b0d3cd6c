// make_rope_table against values worked out independently (Python floats, by hand from the
// transformers definitions) for each scaling type.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "model/rope.h"

namespace turbine {
namespace {

ModelConfig config_with(RopeType type, int head_dim, double theta) {
  ModelConfig c;
  c.head_dim = head_dim;
  c.max_position_embeddings = 2048;
  c.rope.type = type;
  c.rope.theta = theta;
  return c;
}

// fp32 storage: compare with a relative tolerance of a few ulps.
void expect_freq(float got, double want) { EXPECT_NEAR(got, want, std::fabs(want) * 1e-6) << want; }

TEST(Rope, DefaultFrequencies) {
  const RopeTable t = make_rope_table(config_with(RopeType::Default, 64, 10000.0), 10);
  ASSERT_EQ(t.rotary_dim, 64);
  ASSERT_EQ(t.inv_freq.size(), 32u);
  EXPECT_EQ(t.attention_factor, 1.0f);
  expect_freq(t.inv_freq[0], 1.0);
  expect_freq(t.inv_freq[1], 0.7498942093324559);     // 10000^(-2/64)
  expect_freq(t.inv_freq[31], 1.333521432163324e-4);  // 10000^(-62/64)
}

TEST(Rope, LinearDividesByFactor) {
  auto c = config_with(RopeType::Linear, 64, 10000.0);
  c.rope.factor = 4.0;
  const RopeTable t = make_rope_table(c, 10);
  expect_freq(t.inv_freq[0], 0.25);
  expect_freq(t.inv_freq[1], 0.7498942093324559 / 4);
}

TEST(Rope, DynamicNtkGrowsTheBaseOnlyPastMaxPositions) {
  auto c = config_with(RopeType::DynamicNtk, 64, 10000.0);
  c.rope.factor = 2.0;
  const RopeTable within = make_rope_table(c, 2048);
  expect_freq(within.inv_freq[1], 0.7498942093324559);
  // seq 4096: base = 10000 * (2 * 4096 / 2048 - 1)^(64 / 62) = 31082.2366...
  const RopeTable beyond = make_rope_table(c, 4096);
  expect_freq(beyond.inv_freq[0], 1.0);
  expect_freq(beyond.inv_freq[1], 0.7237840223942559);
  expect_freq(beyond.inv_freq[31], 4.445071440544414e-05);
}

TEST(Rope, Llama3PiecewiseWavelengths) {
  // Llama 3.1: theta 500000, head_dim 128, factor 8, low 1, high 4, original 8192.
  auto c = config_with(RopeType::Llama3, 128, 500000.0);
  c.rope.factor = 8.0;
  c.rope.low_freq_factor = 1.0;
  c.rope.high_freq_factor = 4.0;
  c.rope.original_max_position = 8192;
  const RopeTable t = make_rope_table(c, 10);
  expect_freq(t.inv_freq[0], 1.0);                         // short wavelength: unchanged
  expect_freq(t.inv_freq[28], 0.0032114459947525913);      // wavelength 1956 < 2048: unchanged
  expect_freq(t.inv_freq[29], 0.002166570763503359);       // 2401: interpolated
  expect_freq(t.inv_freq[32], 0.0005248461609929547);      // 4442: interpolated
  expect_freq(t.inv_freq[34], 0.00017850781276799638);     // 6695: interpolated
  expect_freq(t.inv_freq[35], 0.0007644969883171747 / 8);  // 8218 > 8192: divided by factor
  expect_freq(t.inv_freq[63], 3.068925988914511e-07);
}

TEST(Rope, PartialRotaryUsesTheRotaryDimension) {
  auto c = config_with(RopeType::Default, 128, 10000.0);
  c.rope.partial_rotary_factor = 0.5;
  const RopeTable t = make_rope_table(c, 10);
  EXPECT_EQ(t.rotary_dim, 64);
  ASSERT_EQ(t.inv_freq.size(), 32u);
  expect_freq(t.inv_freq[1], 0.7498942093324559);
}

TEST(Rope, RejectsOddRotaryDimension) {
  auto c = config_with(RopeType::Default, 10, 10000.0);
  c.rope.partial_rotary_factor = 0.5;  // 5 dims
  EXPECT_THROW(make_rope_table(c, 10), Error);
}

}  // namespace
}  // namespace turbine
