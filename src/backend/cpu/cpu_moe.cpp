// The mixture-of-experts ops on the CPU, the reference the CUDA kernels are tested against:
// routing is a plain softmax and top-k per token; the experts run expert by expert, each over the
// tokens routed to it gathered into one block, through the same linear() and silu_mul() kernels as
// the dense MLP, and their outputs are added back into the tokens' rows with the routing weights.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace turbine {

void CpuBackend::do_moe_route(const Tensor& logits, int k, bool normalize, Tensor& ids, Tensor& weights) {
  const int64_t T = logits.dim(0), E = logits.dim(1);
  const float* in = logits.ptr<float>();
  int32_t* id_out = ids.ptr<int32_t>();
  float* w_out = weights.ptr<float>();
  std::vector<float> prob(static_cast<size_t>(E));
  std::vector<int32_t> order(static_cast<size_t>(E));
  for (int64_t t = 0; t < T; ++t) {
    const float* row = in + t * E;
    float max = -INFINITY;
    for (int64_t e = 0; e < E; ++e) max = std::max(max, row[e]);
    double sum = 0;
    for (int64_t e = 0; e < E; ++e) sum += prob[e] = std::exp(row[e] - max);
    for (int64_t e = 0; e < E; ++e) prob[e] = float(prob[e] / sum);
    std::iota(order.begin(), order.end(), 0);
    // Larger probability first, the lower expert among equals; NaN (a row of NaN logits) sorts last.
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
      const float pa = std::isnan(prob[a]) ? -1.0f : prob[a], pb = std::isnan(prob[b]) ? -1.0f : prob[b];
      return pa != pb ? pa > pb : a < b;
    });
    double chosen = 0;
    for (int j = 0; j < k; ++j) chosen += prob[order[j]];
    for (int j = 0; j < k; ++j) {
      id_out[t * k + j] = order[j];
      w_out[t * k + j] = normalize ? float(prob[order[j]] / chosen) : prob[order[j]];
    }
  }
}

void CpuBackend::do_moe_experts(const Tensor& x, const Tensor& gate_up, const Tensor& down, const Tensor& ids,
                                const Tensor& weights, Tensor& out) {
  const int64_t T = x.dim(0), H = x.dim(1), E = gate_up.dim(0), I = gate_up.dim(1) / 2, k = ids.dim(1);
  const int32_t* id = ids.ptr<int32_t>();
  const float* w = weights.ptr<float>();
  // The (token, slot) pairs of each expert, in token order.
  std::vector<std::vector<int64_t>> routed(static_cast<size_t>(E));
  for (int64_t i = 0; i < T * k; ++i) {
    if (id[i] < 0 || id[i] >= E) fail("cpu moe_experts: expert id {} is outside 0..{}", id[i], E - 1);
    routed[size_t(id[i])].push_back(i);
  }
  std::memset(out.data, 0, out.bytes());
  if (T == 0) return;
  // An expert gets up to T * k pairs: ids may repeat within a token (a router never repeats them,
  // but the op takes any ids), so the gathered rows are sized by the busiest expert, not by T.
  size_t most = 0;
  for (const auto& pairs : routed) most = std::max(most, pairs.size());
  const int64_t R = int64_t(most);
  const Tensor all_gate_up = gate_up.reshaped({E * 2 * I, H}), all_down = down.reshaped({E * H, I});
  Tensor xs = empty(DType::F32, {R, H}), gu = empty(DType::F32, {R, 2 * I}), mid = empty(DType::F32, {R, I}),
         ys = empty(DType::F32, {R, H});
  const float* xp = x.ptr<float>();
  float* op = out.ptr<float>();
  for (int64_t e = 0; e < E; ++e) {
    const auto& pairs = routed[size_t(e)];
    const int64_t n = int64_t(pairs.size());
    if (n == 0) continue;
    Tensor xe = xs.rows(0, n), gue = gu.rows(0, n), me = mid.rows(0, n), ye = ys.rows(0, n);
    for (int64_t r = 0; r < n; ++r)
      std::memcpy(xe.ptr<float>() + r * H, xp + pairs[r] / k * H, size_t(H) * sizeof(float));
    do_linear(xe, all_gate_up.rows(e * 2 * I, (e + 1) * 2 * I), nullptr, gue);
    do_silu_mul(gue, me);
    do_linear(me, all_down.rows(e * H, (e + 1) * H), nullptr, ye);
    for (int64_t r = 0; r < n; ++r) {
      const float scale = w[pairs[r]];
      const float* y = ye.ptr<float>() + r * H;
      float* o = op + pairs[r] / k * H;
      for (int64_t h = 0; h < H; ++h) o[h] += scale * y[h];
    }
  }
}

}  // namespace turbine
