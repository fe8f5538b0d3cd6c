// linear(): out[T, N] = x[T, K] @ weight[N, K]^T (+ bias), the CPU hot path.
//
// Work is split over blocks of weight rows (N): at decode (T = 1..few) the op is bound by
// reading the weights once, so every thread streams its own rows; at prefill each block of
// rows stays in cache while all T activations pass over it. The micro-kernel computes an
// RT x RN tile of dot products at once: every weight load serves RT rows of x and every x load
// RN weight rows, with RT*RN vector accumulators in flight.
#include <algorithm>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kernels.h"

namespace turbine {

namespace {

using cpu::f32x8;
using cpu::kLanes;
using cpu::load8;
using cpu::sum_lanes;

// out[t * ldo + n] = dot(x[t], w[n]) for t < RT, n < RN (rows of length K).
template <int RT, int RN>
void dot_tile(const float* x, const float* w, int64_t K, float* out, int64_t ldo) {
  f32x8 acc[RT][RN] = {};
  int64_t k = 0;
  for (; k + kLanes <= K; k += kLanes) {
    f32x8 xv[RT], wv[RN];
    for (int t = 0; t < RT; ++t) xv[t] = load8(x + t * K + k);
    for (int n = 0; n < RN; ++n) wv[n] = load8(w + n * K + k);
    for (int t = 0; t < RT; ++t)
      for (int n = 0; n < RN; ++n) acc[t][n] += xv[t] * wv[n];
  }
  for (int t = 0; t < RT; ++t)
    for (int n = 0; n < RN; ++n) {
      float sum = sum_lanes(acc[t][n]);
      for (int64_t r = k; r < K; ++r) sum += x[t * K + r] * w[n * K + r];
      out[t * ldo + n] = sum;
    }
}

// All T rows of x against weight rows [n0, n1).
template <int RT>
void rows_times_block(const float* x, int64_t t0, const float* w, int64_t n0, int64_t n1, int64_t K,
                      float* out, int64_t N) {
  constexpr int RN = RT == 4 ? 3 : 4;  // RT * RN <= 12 accumulators of the 16 AVX2 vector registers
  const float* xt = x + t0 * K;
  float* ot = out + t0 * N;
  int64_t n = n0;
  for (; n + RN <= n1; n += RN) dot_tile<RT, RN>(xt, w + n * K, K, ot + n, N);
  for (; n < n1; ++n) dot_tile<RT, 1>(xt, w + n * K, K, ot + n, N);
}

void linear_block(const float* x, int64_t T, const float* w, int64_t n0, int64_t n1, int64_t K, float* out,
                  int64_t N) {
  int64_t t = 0;
  for (; t + 4 <= T; t += 4) rows_times_block<4>(x, t, w, n0, n1, K, out, N);
  switch (T - t) {
    case 3: rows_times_block<3>(x, t, w, n0, n1, K, out, N); break;
    case 2: rows_times_block<2>(x, t, w, n0, n1, K, out, N); break;
    case 1: rows_times_block<1>(x, t, w, n0, n1, K, out, N); break;
    default: break;
  }
}

}  // namespace

void CpuBackend::do_linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) {
  const int64_t T = x.dim(0), K = x.dim(1), N = weight.dim(0);
  const bool has_bias = bias && bias->defined();
  if (T == 0 || N == 0) return;

  // About 24 KiB of weights per block (L1-resident while the T rows pass), in whole micro-tiles:
  // a multiple of 12 rows (the tile widths are 3 and 4).
  const int64_t block = std::clamp<int64_t>((24576 / std::max<int64_t>(K * 4, 1)) / 12 * 12, 12, 240);
  const int64_t num_blocks = (N + block - 1) / block;
  const float* xp = x.ptr<float>();
  const float* wp = weight.ptr<float>();
  float* op = out.ptr<float>();
  pool_->parallel_for(num_blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n0 = b * block, n1 = std::min(N, n0 + block);
      linear_block(xp, T, wp, n0, n1, K, op, N);
      if (has_bias) {
        const float* bp = bias->ptr<float>();
        for (int64_t t = 0; t < T; ++t)
          for (int64_t n = n0; n < n1; ++n) op[t * N + n] += bp[n];
      }
    }
  });
}

}  // namespace turbine
