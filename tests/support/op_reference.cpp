#include "support/op_reference.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace turbine::test {

Vec random_vec(std::mt19937& rng, size_t n, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  Vec v(n);
  for (auto& x : v) x = float(dist(rng));  // representable in fp32, so both sides see the same input
  return v;
}

std::vector<float> to_float(const Vec& v) { return std::vector<float>(v.begin(), v.end()); }
Vec to_double(const std::vector<float>& v) { return Vec(v.begin(), v.end()); }

Vec ref_linear(const Vec& x, const Vec& w, const Vec& bias, int64_t T, int64_t K, int64_t N) {
  Vec out(size_t(T * N));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias.empty() ? 0.0 : bias[n];
      for (int64_t k = 0; k < K; ++k) s += x[t * K + k] * w[n * K + k];
      out[t * N + n] = s;
    }
  return out;
}

Vec ref_rms_norm(const Vec& x, const Vec& weight, double eps, int64_t R, int64_t C) {
  Vec out(size_t(R * C));
  for (int64_t r = 0; r < R; ++r) {
    double ss = 0.0;
    for (int64_t c = 0; c < C; ++c) ss += x[r * C + c] * x[r * C + c];
    const double inv = 1.0 / std::sqrt(ss / C + eps);
    for (int64_t c = 0; c < C; ++c) out[r * C + c] = x[r * C + c] * inv * weight[c];
  }
  return out;
}

Vec ref_silu_mul(const Vec& gate_up, int64_t T, int64_t I) {
  Vec out(size_t(T * I));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < I; ++i) {
      const double g = gate_up[t * 2 * I + i], u = gate_up[t * 2 * I + I + i];
      out[t * I + i] = g / (1.0 + std::exp(-g)) * u;
    }
  return out;
}

void ref_rope(double* x, int64_t pos, const std::vector<double>& inv_freq, int rotary_dim, double attention_factor) {
  const int half = rotary_dim / 2;
  for (int i = 0; i < half; ++i) {
    const double angle = double(pos) * inv_freq[i];
    const double c = std::cos(angle) * attention_factor, s = std::sin(angle) * attention_factor;
    const double a = x[i], b = x[i + half];
    x[i] = a * c - b * s;
    x[i + half] = b * c + a * s;
  }
}

Vec ref_attention(const std::vector<RefAttentionSeq>& seqs, int num_heads, int num_kv_heads, int head_dim, double scale,
                  int window) {
  const int D = head_dim, group = num_heads / num_kv_heads;
  Vec out;
  for (const auto& s : seqs) {
    for (int32_t i = 0; i < s.num_tokens; ++i) {
      const int32_t p = s.context_len + i;
      for (int h = 0; h < num_heads; ++h) {
        const int kvh = h / group;
        const double* q = &s.q[(size_t(i) * num_heads + h) * D];
        std::vector<double> w;
        std::vector<int32_t> keys;
        for (int32_t j = 0; j <= p; ++j) {
          if (window > 0 && p - j >= window) continue;
          const double* k = &s.k[(size_t(j) * num_kv_heads + kvh) * D];
          double dot = 0.0;
          for (int d = 0; d < D; ++d) dot += q[d] * k[d];
          w.push_back(dot * scale);
          keys.push_back(j);
        }
        const double m = *std::max_element(w.begin(), w.end());
        double z = 0.0;
        for (auto& x : w) z += (x = std::exp(x - m));
        for (int d = 0; d < D; ++d) {
          double acc = 0.0;
          for (size_t n = 0; n < keys.size(); ++n) acc += w[n] * s.v[(size_t(keys[n]) * num_kv_heads + kvh) * D + d];
          out.push_back(acc / z);
        }
      }
    }
  }
  return out;
}

int64_t kv_cache_offset(int num_blocks, int block_len, int num_kv_heads, int head_dim, int layer, int block, int kv,
                        int kv_head, int offset) {
  return ((((int64_t(layer) * num_blocks + block) * 2 + kv) * num_kv_heads + kv_head) * block_len + offset) * head_dim;
}

double tolerance_ratio(const std::vector<float>& got, const Vec& want, double atol, double rtol) {
  if (got.size() != want.size()) throw std::runtime_error("tolerance_ratio: size mismatch");
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - want[i]);
    if (!std::isfinite(got[i])) return INFINITY;
    worst = std::max(worst, err / (atol + rtol * std::fabs(want[i])));
  }
  return worst;
}

}  // namespace turbine::test
