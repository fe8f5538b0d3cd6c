// CpuBackend's sampling ops: argmax and top candidates per row, written as the plain reference
// the CUDA kernels are checked against.
#include <algorithm>
#include <cmath>
#include <cstring>
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

typedef float f32x4 __attribute__((vector_size(16)));

// The first index in [begin, end) of row's largest non-NaN value (-1 when all are NaN), and that value.
// The maximum is taken four lanes at a time in two vectors (a comparison that NaN never wins), then the
// index by a plain scan for the first equal value.
int32_t first_max_index(const float* row, int64_t begin, int64_t end, float* value) {
  const float inf = INFINITY;
  f32x4 m0 = {-inf, -inf, -inf, -inf}, m1 = m0;
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    f32x4 a, b;
    std::memcpy(&a, row + i, sizeof a);
    std::memcpy(&b, row + i + 4, sizeof b);
    m0 = a > m0 ? a : m0;
    m1 = b > m1 ? b : m1;
  }
  float m = -inf;
  for (int l = 0; l < 4; ++l) m = std::max({m, m0[l], m1[l]});
  for (; i < end; ++i)
    if (row[i] > m) m = row[i];
  *value = m;
  for (int64_t j = begin; j < end; ++j)
    if (row[j] == m) return int32_t(j);  // -inf finds a -inf; an all-NaN part finds nothing
  return -1;
}

}  // namespace

std::vector<int32_t> CpuBackend::do_argmax_rows(const Tensor& logits) {
  const int64_t R = logits.dim(0), V = logits.dim(1);
  // A decode step's few rows are split into parts of the vocabulary so that every thread scans; each
  // (row, part) finds its largest non-NaN value and the first index holding it, and a row's parts are
  // then combined in order (a strictly larger value wins, so the lowest index wins a tie).
  const int64_t threads = pool_->size();
  const int64_t parts = R >= threads ? 1 : std::clamp<int64_t>((V + 4095) / 4096, 1, 2 * threads);
  argmax_values_.resize(size_t(R * parts));
  argmax_ids_.resize(size_t(R * parts));
  pool_->parallel_for(R * parts, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t r = i / parts, p = i % parts, begin = V * p / parts, end = V * (p + 1) / parts;
      const float* row = logits.ptr<float>() + r * V;
      argmax_ids_[size_t(i)] = first_max_index(row, begin, end, &argmax_values_[size_t(i)]);
    }
  });
  std::vector<int32_t> ids(R, 0);
  for (int64_t r = 0; r < R; ++r) {
    int64_t best = -1;
    for (int64_t p = r * parts; p < (r + 1) * parts; ++p)
      if (argmax_ids_[size_t(p)] >= 0 && (best < 0 || argmax_values_[size_t(p)] > argmax_values_[size_t(best)]))
        best = p;
    ids[r] = best < 0 ? 0 : argmax_ids_[size_t(best)];
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
