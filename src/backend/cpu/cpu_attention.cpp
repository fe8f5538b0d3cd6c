// attention(): each new token attends over its own sequence's cached keys at positions
// lo..pos (lo = 0, or pos - window + 1 with a sliding window), read through the block table
// from the paged cache [layer][block][k|v][kv_head][block_len][head_dim]. Softmax in two passes
// (scores, then max-shifted exponentials, vectorized in the kernel table); query heads share KV heads
// (GQA) by h / group.
#include <algorithm>
#include <vector>

#include "backend/cpu/cpu_backend.h"

namespace turbine {

void CpuBackend::do_attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                              const AttentionShape& shape, Tensor& out) {
  const BatchPlan& plan = *meta.plan;
  const int Hq = shape.num_heads, Hkv = shape.num_kv_heads, D = shape.head_dim;
  const KvCacheSpec& spec = cache.spec;
  const int64_t T = plan.num_tokens;

  // Which sequence each new-token row belongs to (scratch kept across calls, like the scores).
  std::vector<int32_t>& seq_of_row = attention_rows_;
  seq_of_row.resize(static_cast<size_t>(T));
  for (int32_t s = 0; s < plan.num_sequences; ++s)
    for (int32_t r = plan.query_start[s]; r < plan.query_start[s + 1]; ++r) seq_of_row[r] = s;

  const int group = Hq / Hkv;
  const int64_t head_stride = int64_t(spec.block_len) * D;
  const int64_t kv_stride = head_stride * Hkv;
  const int64_t block_stride = 2 * kv_stride;
  const float* layer_base = cache.data.ptr<float>() + int64_t(layer) * spec.num_blocks * block_stride;

  // One work item per (row, query head); each thread has its own scores in the scratch, which grows to
  // the longest context seen and is then reused.
  const size_t per_thread = size_t(plan.max_context);
  if (attention_scratch_.size() < per_thread * size_t(pool_->size()))
    attention_scratch_.resize(per_thread * size_t(pool_->size()));
  const cpu::KernelTable& k = *kernels_;
  pool_->parallel_for_with_thread(T * Hq, [&](int thread, int64_t i0, int64_t i1) {
    float* scores = attention_scratch_.data() + size_t(thread) * per_thread;
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t row = item / Hq;
      const int h = int(item % Hq), kvh = h / group;
      cpu::AttendArgs a;
      a.k = layer_base + kvh * head_stride;
      a.v_offset = kv_stride;
      a.table = plan.block_tables.data() + int64_t(seq_of_row[row]) * plan.max_blocks;
      a.block_len = spec.block_len;
      a.block_stride = block_stride;
      a.head_dim = D;
      a.pos = plan.positions[row];
      a.lo = shape.sliding_window > 0 ? std::max(0, a.pos - shape.sliding_window + 1) : 0;
      a.scale = shape.scale;
      const int64_t at = row * int64_t(Hq) * D + int64_t(h) * D;
      k.attend(q.ptr<float>() + at, a, scores, out.ptr<float>() + at);
    }
  });
}

}  // namespace turbine
