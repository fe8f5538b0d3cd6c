// Small inner loops shared by the CPU ops. They are plain C++ written so that GCC/Clang turn
// them into SIMD code: each accumulator is an array of kLanes independent partial sums (so no
// reassociation is needed to vectorize), and several such arrays hide the FMA latency.
#pragma once
#include <cstdint>

namespace turbine::cpu {

constexpr int kLanes = 8;  // one AVX2 register of floats

// sum_k a[k] * b[k], accumulated in fp32 over 4 x kLanes partial sums.
inline float dot(const float* a, const float* b, int64_t n) {
  float acc[4][kLanes] = {};
  int64_t k = 0;
  for (; k + 4 * kLanes <= n; k += 4 * kLanes)
    for (int u = 0; u < 4; ++u)
      for (int j = 0; j < kLanes; ++j) acc[u][j] += a[k + u * kLanes + j] * b[k + u * kLanes + j];
  for (; k + kLanes <= n; k += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[0][j] += a[k + j] * b[k + j];
  float lanes[kLanes];
  for (int j = 0; j < kLanes; ++j) lanes[j] = (acc[0][j] + acc[1][j]) + (acc[2][j] + acc[3][j]);
  float sum = 0.0f;
  for (int j = 0; j < kLanes; ++j) sum += lanes[j];
  for (; k < n; ++k) sum += a[k] * b[k];
  return sum;
}

// y[k] += alpha * x[k]
inline void axpy(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t k = 0; k < n; ++k) y[k] += alpha * x[k];
}

}  // namespace turbine::cpu
