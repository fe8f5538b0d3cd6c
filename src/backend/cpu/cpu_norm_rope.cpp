// RMSNorm (plain and fused with the residual add) and qkv_rope_store: the per-token work between
// the projections. Norm statistics are accumulated in double (rows are short; it costs nothing).
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kv_rows.h"
#include "backend/kv_quant.h"

namespace turbine {

namespace {

// out = x / sqrt(mean(x^2) + eps) * weight over one row of length C.
void rms_norm_row(const float* x, const float* weight, float eps, int64_t C, float* out) {
  double sum_sq = 0.0;
  for (int64_t c = 0; c < C; ++c) sum_sq += double(x[c]) * x[c];
  const float inv_rms = float(1.0 / std::sqrt(sum_sq / double(C) + double(eps)));
  for (int64_t c = 0; c < C; ++c) out[c] = weight[c] * (x[c] * inv_rms);
}

// Rotates the first 2*half dims of one head in place (rotate_half / NeoX pairing: i with i+half).
void rope_head(float* x, const float* cos_v, const float* sin_v, int half) {
  for (int i = 0; i < half; ++i) {
    const float a = x[i], b = x[i + half];
    x[i] = a * cos_v[i] - b * sin_v[i];
    x[i + half] = b * cos_v[i] + a * sin_v[i];
  }
}

// One token's query heads from its qkv row: optional per-head RMSNorm (q_norm, or null), then RoPE,
// written to q_out (Hq * D values). The dense and the quantized store share it.
void rotate_q_heads(const float* row, const float* q_norm, float eps, int Hq, int D, const float* cos_v,
                    const float* sin_v, int half, float* q_out) {
  for (int h = 0; h < Hq; ++h) {
    float* dst = q_out + int64_t(h) * D;
    if (q_norm)
      rms_norm_row(row + int64_t(h) * D, q_norm, eps, D, dst);
    else
      std::copy(row + int64_t(h) * D, row + int64_t(h + 1) * D, dst);
    rope_head(dst, cos_v, sin_v, half);
  }
}

}  // namespace

void CpuBackend::do_rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  const int64_t C = x.dim(1);
  pool_->parallel_for(x.dim(0), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      rms_norm_row(x.ptr<float>() + r * C, weight.ptr<float>(), eps, C, out.ptr<float>() + r * C);
  });
}

void CpuBackend::do_add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  const int64_t C = x.dim(1);
  pool_->parallel_for(x.dim(0), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* res = residual.ptr<float>() + r * C;
      const float* add = x.ptr<float>() + r * C;
      for (int64_t c = 0; c < C; ++c) res[c] += add[c];
      rms_norm_row(res, weight.ptr<float>(), eps, C, out.ptr<float>() + r * C);
    }
  });
}

const CpuBackend::RopeRows& CpuBackend::rope_rows(const RopeTable& rope, int32_t max_position) {
  RopeRows& r = rope_rows_;
  const size_t half = size_t(rope.rotary_dim / 2);
  if (r.inv_freq != rope.inv_freq || r.attention_factor != rope.attention_factor || r.half != half) {
    r.inv_freq = rope.inv_freq;
    r.attention_factor = rope.attention_factor;
    r.half = half;
    r.positions = 0;
    r.cos.clear();
    r.sin.clear();
  }
  if (max_position < r.positions) return r;
  // Grown in doublings, so a long decode extends the rows a handful of times, not once per step.
  const int32_t positions = std::max(max_position + 1, 2 * r.positions);
  r.cos.resize(size_t(positions) * half);
  r.sin.resize(size_t(positions) * half);
  for (int32_t p = r.positions; p < positions; ++p)
    for (size_t i = 0; i < half; ++i) {
      // Like the fp32 reference: angle = float(pos) * inv_freq in fp32, then cos/sin of that angle.
      const float angle = float(p) * rope.inv_freq[i];
      r.cos[size_t(p) * half + i] = float(std::cos(double(angle))) * rope.attention_factor;
      r.sin[size_t(p) * half + i] = float(std::sin(double(angle))) * rope.attention_factor;
    }
  r.positions = positions;
  return r;
}

void CpuBackend::do_qkv_rope_store(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                                   const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                                   const BatchMeta& meta, Tensor& q_out) {
  const int Hq = shape.num_heads, Hkv = shape.num_kv_heads, D = shape.head_dim;
  const KvCacheSpec& spec = cache.spec;
  const int half = rope.rotary_dim / 2;
  const int64_t T = meta.plan->num_tokens;
  const bool has_qn = q_norm && q_norm->defined(), has_kn = k_norm && k_norm->defined();

  const int32_t* positions = meta.plan->positions.data();
  const int32_t* slots = meta.plan->slot_mapping.data();
  const int64_t slot_count = int64_t(spec.num_blocks) * spec.block_len;
  const int64_t head_stride = int64_t(spec.block_len) * D;  // one kv head inside a block
  const int64_t kv_stride = head_stride * Hkv;              // k -> v inside a block
  const int64_t block_stride = 2 * kv_stride;
  float* layer_base = cache.data.ptr<float>() + int64_t(layer) * spec.num_blocks * block_stride;
  const int64_t row_width = int64_t(Hq + 2 * Hkv) * D;

  // This backend writes host memory at each slot: the -1 slot of a padded row of a recorded decode
  // graph (which only backends with graphs run) would write outside the cache. Checked before the
  // workers start, which must not throw.
  int32_t max_position = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (slots[t] < 0 || slots[t] >= slot_count) fail("cpu qkv_rope_store: slot {} outside the cache", slots[t]);
    if (positions[t] < 0) fail("cpu qkv_rope_store: negative position {}", positions[t]);
    max_position = std::max(max_position, positions[t]);
  }
  const RopeRows& table = rope_rows(rope, max_position);

  // A dense cache takes k normalized and rotated in place and v copied; a quantized one (int8 / int4 /
  // fp8) takes both quantized per (token, kv head) at the write, k prepared first in each thread's
  // scratch row (kept across steps).
  const bool dense = spec.format == KvFormat::Dense;
  const cpu::QuantizedKvLayer rows(cache, layer);
  const size_t scratch = dense ? 0 : size_t(D) * size_t(pool_->size());
  if (kv_row_scratch_.size() < scratch) kv_row_scratch_.resize(scratch);
  pool_->parallel_for_with_thread(T, [&](int thread, int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* cos_v = table.cos.data() + size_t(positions[t]) * half;
      const float* sin_v = table.sin.data() + size_t(positions[t]) * half;
      const float* row = qkv.ptr<float>() + t * row_width;
      rotate_q_heads(row, has_qn ? q_norm->ptr<float>() : nullptr, norm_eps, Hq, D, cos_v, sin_v, half,
                     q_out.ptr<float>() + t * int64_t(Hq) * D);
      const int64_t slot = slots[t];
      float* block_base = layer_base + (slot / spec.block_len) * block_stride + (slot % spec.block_len) * D;
      for (int h = 0; h < Hkv; ++h) {
        const float* k_src = row + int64_t(Hq + h) * D;
        const float* v_src = row + int64_t(Hq + Hkv + h) * D;
        float* k_dst = dense ? block_base + h * head_stride : kv_row_scratch_.data() + size_t(thread) * size_t(D);
        if (has_kn)
          rms_norm_row(k_src, k_norm->ptr<float>(), norm_eps, D, k_dst);
        else
          std::copy(k_src, k_src + D, k_dst);
        rope_head(k_dst, cos_v, sin_v, half);
        if (dense) {
          std::copy(v_src, v_src + D, k_dst + kv_stride);
        } else {
          kv_quantize_row(spec.format, k_dst, D, rows.elements(slot, 0, h), rows.params(slot, 0, h));
          kv_quantize_row(spec.format, v_src, D, rows.elements(slot, 1, h), rows.params(slot, 1, h));
        }
      }
    }
  });
}

}  // namespace turbine
