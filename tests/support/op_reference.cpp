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

RefRoute ref_moe_route(const Vec& logits, int64_t T, int64_t E, int k, bool normalize) {
  RefRoute r;
  for (int64_t t = 0; t < T; ++t) {
    const double* row = logits.data() + t * E;
    const double max = *std::max_element(row, row + E);
    Vec p(static_cast<size_t>(E));
    double sum = 0;
    for (int64_t e = 0; e < E; ++e) sum += p[e] = std::exp(row[e] - max);
    std::vector<bool> taken(static_cast<size_t>(E), false);
    std::vector<int32_t> ids;
    for (int j = 0; j < k; ++j) {
      int64_t best = -1;
      for (int64_t e = 0; e < E; ++e)
        if (!taken[e] && (best < 0 || p[e] > p[best])) best = e;
      taken[best] = true;
      ids.push_back(int32_t(best));
    }
    double chosen = 0;
    for (int32_t e : ids) chosen += p[e] / sum;
    for (int32_t e : ids) {
      r.ids.push_back(e);
      r.weights.push_back(normalize ? p[e] / sum / chosen : p[e] / sum);
    }
  }
  return r;
}

Vec ref_moe_experts(const Vec& x, const Vec& gate_up, const Vec& down, const std::vector<int32_t>& ids,
                    const Vec& weights, int64_t T, int64_t H, int64_t I, int k) {
  Vec out(static_cast<size_t>(T * H), 0.0);
  for (int64_t t = 0; t < T; ++t) {
    for (int j = 0; j < k; ++j) {
      const int64_t e = ids[t * k + j];
      const double* gu = gate_up.data() + e * 2 * I * H;
      Vec mid(static_cast<size_t>(I));
      for (int64_t i = 0; i < I; ++i) {
        double g = 0, u = 0;
        for (int64_t h = 0; h < H; ++h) {
          g += gu[i * H + h] * x[t * H + h];
          u += gu[(I + i) * H + h] * x[t * H + h];
        }
        mid[i] = g / (1.0 + std::exp(-g)) * u;
      }
      const double* dn = down.data() + e * H * I;
      for (int64_t h = 0; h < H; ++h) {
        double y = 0;
        for (int64_t i = 0; i < I; ++i) y += dn[h * I + i] * mid[i];
        out[t * H + h] += weights[t * k + j] * y;
      }
    }
  }
  return out;
}

}  // namespace turbine::test
