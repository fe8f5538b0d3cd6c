#include "support/test_helpers.h"

#include <unistd.h>

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

}  // namespace turbine::test
