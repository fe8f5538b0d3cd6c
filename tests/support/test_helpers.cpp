#include "support/test_helpers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/dtype.h"

namespace turbine::test {

ScratchDir::ScratchDir(const std::string& name)
    : path_(std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

HostInt4Matrix random_int4_matrix(int64_t n, int64_t k, int group, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> nib(0, 15);
  std::uniform_real_distribution<float> scale(0.001f, 0.1f);
  HostInt4Matrix m;
  m.n = n;
  m.k = k;
  m.group_size = group;
  for (int64_t i = 0; i < n * k; ++i) m.q.push_back(uint8_t(nib(rng)));
  for (int64_t i = 0; i < n * (k / group); ++i) {
    m.zeros.push_back(uint8_t(nib(rng)));
    m.scales.push_back(f32_to_f16(scale(rng)));
  }
  return m;
}

void expect_close_to_reference(const std::vector<float>& got, const std::vector<float>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  double num = 0, den = 0, max_abs = 0, ref_max = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << "output " << i;
    const double d = double(got[i]) - want[i];
    num += d * d;
    den += double(want[i]) * want[i];
    max_abs = std::max(max_abs, std::abs(d));
    ref_max = std::max(ref_max, std::abs(double(want[i])));
  }
  EXPECT_LT(std::sqrt(num / std::max(den, 1e-30)), tol) << "relative L2 error";
  EXPECT_LT(max_abs, 8 * tol * std::max(ref_max, 1e-6)) << "largest element error";
}

}  // namespace turbine::test
