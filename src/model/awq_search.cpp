#include "model/awq_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "model/int4_groups.h"

namespace turbine {

ChannelStats channel_stats(Backend& backend, const std::vector<float>& x, int64_t tokens, int64_t k) {
  if (tokens <= 0 || int64_t(x.size()) != tokens * k)
    fail("channel_stats: {} values for [{}, {}]", x.size(), tokens, k);
  ChannelStats st;
  st.k = k;
  st.mean_abs.assign(size_t(k), 0.0f);
  std::vector<double> sum(size_t(k), 0.0);
  std::vector<float> xt(size_t(k * tokens));  // x transposed: the product below sums over tokens
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t c = 0; c < k; ++c) {
      const float v = x[size_t(t * k + c)];
      sum[size_t(c)] += std::abs(v);
      xt[size_t(c * tokens + t)] = v / std::sqrt(float(tokens));
    }
  for (int64_t c = 0; c < k; ++c) st.mean_abs[size_t(c)] = float(sum[size_t(c)] / double(tokens));
  const Tensor a = backend.upload(xt.data(), DType::F32, {k, tokens}, DType::F32);
  Tensor m = backend.empty(DType::F32, {k, k});
  backend.linear(a, a, nullptr, m);
  st.moment = backend.download_f32(m);
  return st;
}

ChannelStats scaled_stats(const ChannelStats& st, const std::vector<float>& s) {
  ChannelStats out = st;
  for (int64_t i = 0; i < st.k; ++i) {
    out.mean_abs[size_t(i)] /= s[size_t(i)];
    for (int64_t j = 0; j < st.k; ++j) out.moment[size_t(i * st.k + j)] /= s[size_t(i)] * s[size_t(j)];
  }
  return out;
}

double output_error(Backend& backend, const ChannelStats& st, const std::vector<float>& d, int64_t n) {
  const int64_t k = st.k;
  const Tensor td = backend.upload(d.data(), DType::F32, {n, k}, DType::F32);
  const Tensor tm = backend.upload(st.moment.data(), DType::F32, {k, k}, DType::F32);
  Tensor out = backend.empty(DType::F32, {n, k});
  backend.linear(td, tm, nullptr, out);  // d M (M is symmetric)
  const std::vector<float> dm = backend.download_f32(out);
  double total = 0.0;
  for (size_t i = 0; i < dm.size(); ++i) total += double(dm[i]) * double(d[i]);
  return total;
}

ScaleSearch search_awq_scales(Backend& backend, const ChannelStats& st, const std::vector<float>& w, int64_t n,
                              int group, const std::vector<uint8_t>& clipped, ThreadPool& pool, int grid) {
  const int64_t k = st.k;
  ScaleSearch best;
  best.error = std::numeric_limits<double>::infinity();
  std::vector<float> s(static_cast<size_t>(k)), ws(static_cast<size_t>(n * k)), d(static_cast<size_t>(n * k));
  for (int i = 0; i < grid; ++i) {
    const double alpha = double(i) / grid;
    float lo = INFINITY, hi = 0.0f;
    for (int64_t c = 0; c < k; ++c) {
      s[size_t(c)] = std::max(float(std::pow(double(st.mean_abs[size_t(c)]), alpha)), 1e-4f);
      lo = std::min(lo, s[size_t(c)]);
      hi = std::max(hi, s[size_t(c)]);
    }
    const float norm = std::sqrt(lo * hi);  // centre the scales around 1 (geometrically)
    for (float& v : s) v /= norm;
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c) ws[size_t(r * k + c)] = w[size_t(r * k + c)] * s[size_t(c)];
    std::vector<float> clip = search_awq_clip(scaled_stats(st, s), ws, n, group, clipped, pool);
    const std::vector<float> q = dequantize_int4(quantize_int4(ws, n, k, group, clip));
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c) d[size_t(r * k + c)] = q[size_t(r * k + c)] / s[size_t(c)] - w[size_t(r * k + c)];
    const double err = output_error(backend, st, d, n);
    if (i == 0) best.plain_error = err;
    if (err < best.error) {
      best.error = err;
      best.alpha = alpha;
      best.scales = s;
      best.clip = std::move(clip);
    }
  }
  return best;
}

std::vector<float> search_awq_clip(const ChannelStats& st, const std::vector<float>& w, int64_t n, int group,
                                   const std::vector<uint8_t>& clipped, ThreadPool& pool, int grid, double max_shrink) {
  const int64_t k = st.k, groups = k / group;
  std::vector<float> clip(size_t(n * groups), INFINITY);
  const int steps = std::max(1, int(max_shrink * grid));
  for (int64_t g = 0; g < groups; ++g) {
    // This group's block of the moment: its inputs' share of the output error.
    std::vector<float> m(size_t(group * group));
    for (int i = 0; i < group; ++i)
      for (int j = 0; j < group; ++j) m[size_t(i * group + j)] = st.moment[size_t((g * group + i) * k + g * group + j)];
    pool.parallel_for(n, [&](int64_t r0, int64_t r1) {
      std::vector<float> d(static_cast<size_t>(group)), md(static_cast<size_t>(group));
      for (int64_t r = r0; r < r1; ++r) {
        if (!clipped[size_t(r)]) continue;
        const float* src = w.data() + r * k + g * group;
        float max_abs = 0.0f;
        for (int i = 0; i < group; ++i) max_abs = std::max(max_abs, std::abs(src[i]));
        double best = std::numeric_limits<double>::infinity();
        float best_limit = max_abs;
        for (int step = 0; step < steps; ++step) {
          const float limit = max_abs * float(1.0 - double(step) / grid);
          const Int4Group p = int4_group(src, group, limit);
          for (int i = 0; i < group; ++i)
            d[size_t(i)] = (float(p.q(std::clamp(src[i], -limit, limit))) - p.zero) * p.scale - src[i];
          // d M d^T as (sum_i d_i M[i]) . d: row updates the compiler vectorizes.
          std::fill(md.begin(), md.end(), 0.0f);
          for (int i = 0; i < group; ++i) {
            const float di = d[size_t(i)];
            const float* row = m.data() + size_t(i) * size_t(group);
            for (int j = 0; j < group; ++j) md[size_t(j)] += di * row[j];
          }
          double err = 0.0;
          for (int i = 0; i < group; ++i) err += double(md[size_t(i)]) * double(d[size_t(i)]);
          if (err < best) {
            best = err;
            best_limit = limit;
          }
        }
        clip[size_t(r * groups + g)] = best_limit;
      }
    });
  }
  return clip;
}

}  // namespace turbine
