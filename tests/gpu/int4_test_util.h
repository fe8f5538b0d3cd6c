// 4-bit weights for the GPU tests: random codes, zero points and scales, and the fp32 matrix the
// format defines (w = (q - zero) * scale), the reference the 4-bit kernels are compared with.
#pragma once
#include <random>
#include <vector>

#include "gpu_test_util.h"

namespace turbine::test {

inline HostInt4Matrix random_int4(std::mt19937& rng, int64_t n, int64_t k, int group) {
  HostInt4Matrix m;
  m.n = n;
  m.k = k;
  m.group_size = group;
  std::uniform_int_distribution<int> nibble(0, 15);
  m.q.resize(size_t(n * k));
  for (auto& v : m.q) v = uint8_t(nibble(rng));
  m.zeros.resize(size_t(n * (k / group)));
  for (auto& v : m.zeros) v = uint8_t(nibble(rng));
  std::uniform_real_distribution<float> scale(0.002f, 0.02f);
  std::vector<float> s(m.zeros.size());
  for (auto& v : s) v = scale(rng);
  m.scales.resize(s.size());
  convert_from_f32(s.data(), DType::F16, m.scales.data(), s.size());
  return m;
}

// A pre-norm 4-bit projection's random inputs: the weight m [n, k], the residual h (in [-2, 2]) and the
// delta d [t, k], the norm weight g [k] (in [0.5, 1.5]) and the bias b [n].
struct NormLinearInputs {
  HostInt4Matrix m;
  std::vector<float> h, d, g, b;
};
// What a norm_linear test reads back: the projection, the updated residual and the normed scratch.
struct NormLinearResult {
  std::vector<float> out, residual, normed;
};
inline NormLinearInputs random_norm_linear_inputs(std::mt19937& rng, int t, int k, int n, int group, DType dtype) {
  NormLinearInputs in;
  in.m = random_int4(rng, n, k, group);
  in.h = random_values(rng, size_t(t) * k, dtype, -2, 2);
  in.d = random_values(rng, size_t(t) * k, dtype);
  in.g = random_values(rng, size_t(k), dtype, 0.5, 1.5);
  in.b = random_values(rng, size_t(n), dtype);
  return in;
}

// w [n, k] in fp32 as the format defines it.
inline std::vector<float> dequantize(const HostInt4Matrix& m) {
  std::vector<float> w(m.q.size());
  const int64_t groups = m.k / m.group_size;
  for (int64_t r = 0; r < m.n; ++r)
    for (int64_t c = 0; c < m.k; ++c) {
      const size_t g = size_t(r * groups + c / m.group_size);
      w[size_t(r * m.k + c)] = (float(m.q[size_t(r * m.k + c)]) - float(m.zeros[g])) * f16_to_f32(m.scales[g]);
    }
  return w;
}

}  // namespace turbine::test
