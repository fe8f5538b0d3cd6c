// Small inner loops shared by the CPU ops, written with GCC/Clang vector types (f32x8: eight
// floats that the compiler maps to one AVX register, or two SSE/NEON registers elsewhere).
// Plain lane arrays would be simpler but GCC keeps them in memory; vector-typed locals stay in
// registers, and several independent accumulators hide the FMA latency.
#pragma once
#include <cstdint>
#include <cstring>

namespace turbine::cpu {

constexpr int kLanes = 8;
using f32x8 = float __attribute__((vector_size(32)));

inline f32x8 load8(const float* p) {
  f32x8 v;
  std::memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}

using f32x4 = float __attribute__((vector_size(16)));

// Horizontal sum as a tree: halves first (one vector add), then the four remaining lanes.
inline float sum_lanes(f32x8 v) {
  f32x4 lo, hi;
  std::memcpy(&lo, &v, sizeof lo);
  std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
  const f32x4 s = lo + hi;
  return (s[0] + s[2]) + (s[1] + s[3]);
}

// sum_k a[k] * b[k] in fp32 with four vector accumulators.
inline float dot(const float* a, const float* b, int64_t n) {
  f32x8 acc0 = {}, acc1 = {}, acc2 = {}, acc3 = {};
  int64_t k = 0;
  for (; k + 4 * kLanes <= n; k += 4 * kLanes) {
    acc0 += load8(a + k) * load8(b + k);
    acc1 += load8(a + k + kLanes) * load8(b + k + kLanes);
    acc2 += load8(a + k + 2 * kLanes) * load8(b + k + 2 * kLanes);
    acc3 += load8(a + k + 3 * kLanes) * load8(b + k + 3 * kLanes);
  }
  for (; k + kLanes <= n; k += kLanes) acc0 += load8(a + k) * load8(b + k);
  float sum = sum_lanes((acc0 + acc1) + (acc2 + acc3));
  for (; k < n; ++k) sum += a[k] * b[k];
  return sum;
}

// y[k] += alpha * x[k]
inline void axpy(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t k = 0; k < n; ++k) y[k] += alpha * x[k];
}

}  // namespace turbine::cpu
