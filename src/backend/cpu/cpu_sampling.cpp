// CpuBackend's sampling ops: argmax and top candidates per row, written as the plain reference
// the CUDA kernels are checked against.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "backend/cpu/cpu_backend.h"

namespace turbine {

namespace {

// The order candidates come out in: larger value first, NaN below everything (even -inf),
// equal values by lower id.
bool comes_before(const float* row, int32_t a, int32_t b) {
  const float x = row[a], y = row[b];
  const bool xn = std::isnan(x), yn = std::isnan(y);
  if (xn != yn) return yn;
  if (!xn && x != y) return x > y;
  return a < b;
}

}  // namespace

std::vector<int32_t> CpuBackend::do_argmax_rows(const Tensor& logits) {
  const int64_t R = logits.dim(0), V = logits.dim(1);
  std::vector<int32_t> ids(R, 0);
  for (int64_t r = 0; r < R; ++r) {
    const float* row = logits.ptr<float>() + r * V;
    int64_t best = -1;
    for (int64_t i = 0; i < V; ++i)
      if (!std::isnan(row[i]) && (best < 0 || row[i] > row[best])) best = i;
    ids[r] = int32_t(std::max<int64_t>(best, 0));
  }
  return ids;
}

TopCandidates CpuBackend::do_top_candidates(const Tensor& logits, std::span<const int32_t> rows,
                                            std::span<const float> temperatures, int k) {
  const int64_t V = logits.dim(1);
  TopCandidates out;
  out.rows = int64_t(rows.size());
  out.k = std::min<int64_t>(k, V);
  out.ids.resize(out.rows * out.k);
  out.values.resize(out.rows * out.k);
  out.row_max.resize(out.rows);
  out.sum_exp.resize(out.rows);
  // Rows in parallel: each selects its k (nth_element, then a sort of those k only).
  pool_->parallel_for(out.rows, [&](int64_t r0, int64_t r1) {
    std::vector<int32_t> order(V);
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = logits.ptr<float>() + int64_t(rows[r]) * V;
      auto before = [&](int32_t a, int32_t b) { return comes_before(row, a, b); };
      std::iota(order.begin(), order.end(), 0);
      std::nth_element(order.begin(), order.begin() + (out.k - 1), order.end(), before);
      std::sort(order.begin(), order.begin() + out.k, before);
      for (int64_t i = 0; i < out.k; ++i) {
        out.ids[r * out.k + i] = order[i];
        out.values[r * out.k + i] = row[order[i]];
      }
      float mx = -INFINITY;
      for (int64_t i = 0; i < V; ++i)
        if (!std::isnan(row[i])) mx = std::max(mx, row[i]);
      double sum = 0;
      if (mx != -INFINITY)
        for (int64_t i = 0; i < V; ++i)
          if (!std::isnan(row[i])) sum += std::exp((double(row[i]) - mx) / temperatures[r]);
      out.row_max[r] = mx;
      out.sum_exp[r] = float(sum);
    }
  });
  return out;
}

void CpuBackend::do_repetition_penalty(Tensor& logits, std::span<const int32_t> rows, std::span<const int32_t> ids,
                                       std::span<const float> penalties) {
  const int64_t V = logits.dim(1);
  for (size_t i = 0; i < rows.size(); ++i) {
    float& x = logits.ptr<float>()[int64_t(rows[i]) * V + ids[i]];
    x = x > 0 ? x / penalties[i] : x * penalties[i];
  }
}

}  // namespace turbine
