// attention(): each new token attends over its own sequence's cached keys at positions
// lo..pos (lo = 0, or pos - window + 1 with a sliding window), read through the block table
// from the paged cache [layer][block][k|v][kv_head][block_len][head_dim]. Softmax in two passes
// (scores, then max-shifted exponentials, vectorized in the kernel table); query heads share KV heads
// (GQA) by h / group.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/cpu_backend.h"

namespace turbine {

void CpuBackend::do_attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                              const AttentionShape& shape, Tensor& out) {
  const BatchPlan& plan = *meta.plan;
  const int Hq = shape.num_heads, Hkv = shape.num_kv_heads, D = shape.head_dim;
  const KvCacheSpec& spec = cache.spec;
  const int64_t T = plan.num_tokens;

  // Which sequence each new-token row belongs to.
  std::vector<int32_t> seq_of_row(static_cast<size_t>(T));
  for (int32_t s = 0; s < plan.num_sequences; ++s)
    for (int32_t r = plan.query_start[s]; r < plan.query_start[s + 1]; ++r) seq_of_row[r] = s;

  const int group = Hq / Hkv;
  const int64_t head_stride = int64_t(spec.block_len) * D;
  const int64_t kv_stride = head_stride * Hkv;
  const int64_t block_stride = 2 * kv_stride;
  const float* layer_base = cache.data.ptr<float>() + int64_t(layer) * spec.num_blocks * block_stride;
  const int block_len = spec.block_len;

  // One work item per (row, query head); each chunk has its own scores and accumulator in the scratch,
  // which grows to the longest context seen and is then reused.
  const size_t per_chunk = size_t(plan.max_context) + size_t(D);
  if (attention_scratch_.size() < per_chunk * size_t(pool_->size()))
    attention_scratch_.resize(per_chunk * size_t(pool_->size()));
  pool_->parallel_for_chunks(T * Hq, [&](int chunk, int64_t i0, int64_t i1) {
    float* scores = attention_scratch_.data() + size_t(chunk) * per_chunk;
    float* acc = scores + plan.max_context;
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t row = item / Hq;
      const int h = int(item % Hq), kvh = h / group;
      const int32_t s = seq_of_row[row];
      const int32_t* table = plan.block_tables.data() + int64_t(s) * plan.max_blocks;
      const int32_t pos = plan.positions[row];
      const int32_t lo = shape.sliding_window > 0 ? std::max(0, pos - shape.sliding_window + 1) : 0;
      const float* qh = q.ptr<float>() + row * int64_t(Hq) * D + int64_t(h) * D;

      float max_score = -INFINITY;
      for (int32_t j = lo; j <= pos; ++j) {
        const float* k = layer_base + table[j / block_len] * block_stride + kvh * head_stride +
                         int64_t(j % block_len) * D;
        const float sc = kernels_->dot(qh, k, D) * shape.scale;
        scores[j - lo] = sc;
        max_score = std::max(max_score, sc);
      }
      std::fill(acc, acc + D, 0.0f);
      const double denom = kernels_->exp_shifted(scores, pos - lo + 1, max_score);
      for (int32_t j = lo; j <= pos; ++j) {
        const float* v = layer_base + table[j / block_len] * block_stride + kv_stride + kvh * head_stride +
                         int64_t(j % block_len) * D;
        kernels_->axpy(scores[j - lo], v, acc, D);
      }
      const float inv = float(1.0 / denom);
      float* dst = out.ptr<float>() + row * int64_t(Hq) * D + int64_t(h) * D;
      for (int d = 0; d < D; ++d) dst[d] = acc[d] * inv;
    }
  });
}

}  // namespace turbine
