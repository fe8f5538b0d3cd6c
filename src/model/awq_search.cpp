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

ScaleSearch search_awq_scales(const SearchBackends& backends, const ChannelStats& st, const std::vector<float>& w,
                              int64_t n, int group, const std::vector<uint8_t>& clipped, ThreadPool& pool, int grid) {
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
    std::vector<float> clip = search_awq_clip(backends.clipping, scaled_stats(st, s), ws, n, group, clipped, pool);
    const std::vector<float> q = dequantize_int4(quantize_int4(ws, n, k, group, clip));
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c) d[size_t(r * k + c)] = q[size_t(r * k + c)] / s[size_t(c)] - w[size_t(r * k + c)];
    const double err = output_error(backends.products, st, d, n);
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

std::vector<float> search_awq_clip(Backend& backend, const ChannelStats& st, const std::vector<float>& w, int64_t n,
                                   int group, const std::vector<uint8_t>& clipped, ThreadPool& pool, int grid,
                                   double max_shrink) {
  const int64_t k = st.k, groups = k / group;
  std::vector<float> clip(size_t(n * groups), INFINITY);
  const int steps = std::max(1, int(max_shrink * grid));
  std::vector<int64_t> rows;  // the rows searched
  for (int64_t r = 0; r < n; ++r)
    if (clipped[size_t(r)]) rows.push_back(r);
  // Per group and block of searched rows: every row's candidate changes d [row][step][group] at once,
  // their products with the group's block of the moment as one backend product, then each row's errors
  // d M d^T. The blocks bound the candidates' memory (~40 MB at 10 steps of 128).
  constexpr int64_t kBlockRows = 8192;
  const int64_t block_rows = std::min<int64_t>(int64_t(rows.size()), kBlockRows);
  std::vector<float> d(size_t(block_rows * steps * group)), limits(size_t(block_rows * steps)),
      m(size_t(group * group));
  for (int64_t g = 0; g < groups; ++g) {
    // This group's block of the moment: its inputs' share of the output error.
    for (int i = 0; i < group; ++i)
      for (int j = 0; j < group; ++j) m[size_t(i * group + j)] = st.moment[size_t((g * group + i) * k + g * group + j)];
    const Tensor tm = backend.upload(m.data(), DType::F32, {int64_t(group), int64_t(group)}, DType::F32);
    for (int64_t first = 0; first < int64_t(rows.size()); first += kBlockRows) {
      const int64_t R = std::min<int64_t>(int64_t(rows.size()) - first, kBlockRows);
      pool.parallel_for(R, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const float* src = w.data() + rows[size_t(first + i)] * k + g * group;
          float max_abs = 0.0f, lo = INFINITY, hi = -INFINITY;
          for (int j = 0; j < group; ++j) {
            max_abs = std::max(max_abs, std::abs(src[j]));
            lo = std::min(lo, src[j]);
            hi = std::max(hi, src[j]);
          }
          for (int step = 0; step < steps; ++step) {
            const float limit = max_abs * float(1.0 - double(step) / grid);
            // The clamped values' range is the range clamped (clamping keeps order): int4_group's result.
            const Int4Group p = int4_group_of_range(std::clamp(lo, -limit, limit), std::clamp(hi, -limit, limit));
            float* dd = d.data() + size_t((i * steps + step) * group);
            for (int j = 0; j < group; ++j)
              dd[j] = (p.qf(std::clamp(src[j], -limit, limit)) - p.zero) * p.scale - src[j];
            limits[size_t(i * steps + step)] = limit;
          }
        }
      });
      const Tensor td = backend.upload(d.data(), DType::F32, {R * steps, int64_t(group)}, DType::F32);
      Tensor out = backend.empty(DType::F32, {R * steps, int64_t(group)});
      backend.linear(td, tm, nullptr, out);  // d M (M is symmetric)
      const std::vector<float> md = backend.download_f32(out);
      pool.parallel_for(R, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          double best = std::numeric_limits<double>::infinity();
          float best_limit = limits[size_t(i * steps)];
          for (int step = 0; step < steps; ++step) {
            const size_t at = size_t((i * steps + step) * group);
            double err = 0.0;
            for (int j = 0; j < group; ++j) err += double(md[at + size_t(j)]) * double(d[at + size_t(j)]);
            if (err < best) {
              best = err;
              best_limit = limits[size_t(i * steps + step)];
            }
          }
          clip[size_t(rows[size_t(first + i)] * groups + g)] = best_limit;
        }
      });
    }
  }
  return clip;
}

}  // namespace turbine
