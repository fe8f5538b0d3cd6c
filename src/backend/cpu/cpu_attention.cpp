// attention(): each new token attends over its own sequence's cached keys at positions
// lo..pos (lo = 0, or pos - window + 1 with a sliding window), read through the block table
// from the paged cache [layer][block][k|v][kv_head][block_len][head_dim]. Softmax in two passes
// (scores, then max-shifted exponentials, vectorized in the kernel table); query heads share KV heads
// (GQA) by h / group. Work items are (row group, query head): up to kMaxAttendRows consecutive new
// rows of one sequence go through the kernel together, so that a prefill reads each cache block once
// per group instead of once per row.
#include <algorithm>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kv_rows.h"
#include "backend/kv_quant.h"

namespace turbine {

namespace {

// The work items' row groups: each sequence's new rows cut into runs of up to kMaxAttendRows.
void group_rows(const BatchPlan& plan, std::vector<AttentionRowGroup>& groups) {
  groups.clear();
  for (int32_t s = 0; s < plan.num_sequences; ++s)
    for (int32_t r = plan.query_start[s]; r < plan.query_start[s + 1]; r += cpu::kMaxAttendRows)
      groups.push_back({s, r, std::min(cpu::kMaxAttendRows, plan.query_start[s + 1] - r)});
}

}  // namespace

void CpuBackend::do_attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                              const AttentionShape& shape, Tensor& out) {
  if (cache.spec.format != KvFormat::Dense) return attention_quantized(q, cache, layer, meta, shape, out);
  const BatchPlan& plan = *meta.plan;
  const int Hq = shape.num_heads, Hkv = shape.num_kv_heads, D = shape.head_dim;
  const KvCacheSpec& spec = cache.spec;
  std::vector<AttentionRowGroup>& groups = attention_groups_;
  group_rows(plan, groups);

  const int group = Hq / Hkv;
  const int64_t head_stride = int64_t(spec.block_len) * D;
  const int64_t kv_stride = head_stride * Hkv;
  const int64_t block_stride = 2 * kv_stride;
  const float* layer_base = cache.data.ptr<float>() + int64_t(layer) * spec.num_blocks * block_stride;

  // One work item per (row group, query head); each thread has its own scores in the scratch, which
  // grows to the longest context seen and is then reused.
  const size_t per_thread = size_t(plan.max_context) * cpu::kMaxAttendRows;
  if (attention_scratch_.size() < per_thread * size_t(pool_->size()))
    attention_scratch_.resize(per_thread * size_t(pool_->size()));
  const cpu::KernelTable& k = *kernels_;
  pool_->parallel_for_with_thread(int64_t(groups.size()) * Hq, [&](int thread, int64_t i0, int64_t i1) {
    float* scores = attention_scratch_.data() + size_t(thread) * per_thread;
    for (int64_t item = i0; item < i1; ++item) {
      const AttentionRowGroup& g = groups[size_t(item / Hq)];
      const int h = int(item % Hq), kvh = h / group;
      cpu::AttendArgs a;
      a.k = layer_base + kvh * head_stride;
      a.v_offset = kv_stride;
      a.table = plan.block_tables.data() + int64_t(g.seq) * plan.max_blocks;
      a.block_len = spec.block_len;
      a.block_stride = block_stride;
      a.head_dim = D;
      a.pos = plan.positions[g.first_row];
      a.window = std::max(shape.sliding_window, 0);
      a.lo = a.window > 0 ? std::max(0, a.pos - a.window + 1) : 0;
      a.rows = g.rows;
      a.row_stride = int64_t(Hq) * D;
      a.scale = shape.scale;
      const int64_t at = g.first_row * int64_t(Hq) * D + int64_t(h) * D;
      k.attend(q.ptr<float>() + at, a, scores, out.ptr<float>() + at);
    }
  });
}

// A quantized cache, one sequence at a time: its keys and values in reach of its new tokens are
// dequantized once into fp32 scratch ([k|v][kv_head][position][D], all kv heads in parallel), then the
// dense kernel runs over the scratch for each (row group, query head).
void CpuBackend::attention_quantized(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                                     const AttentionShape& shape, Tensor& out) {
  const BatchPlan& plan = *meta.plan;
  const int Hq = shape.num_heads, Hkv = shape.num_kv_heads, D = shape.head_dim, group = Hq / Hkv;
  const KvCacheSpec& spec = cache.spec;
  const size_t context = size_t(std::max(plan.max_context, 1));
  const size_t head_stride = context * size_t(D), kv_stride = head_stride * size_t(Hkv);
  const size_t threads = size_t(pool_->size());
  const size_t per_thread = context * cpu::kMaxAttendRows;
  if (attention_scratch_.size() < per_thread * threads) attention_scratch_.resize(per_thread * threads);
  std::vector<AttentionRowGroup>& groups = attention_groups_;
  group_rows(plan, groups);
  size_t first_group = 0;  // the first of this sequence's row groups (they come in sequence order)
  if (attention_kv_scratch_.size() < 2 * kv_stride) attention_kv_scratch_.resize(2 * kv_stride);
  float* keys = attention_kv_scratch_.data();
  const cpu::QuantizedKvLayer rows(cache, layer);
  const cpu::KernelTable& k = *kernels_;
  static constexpr int32_t kOneBlock[1] = {0};  // the scratch is one "block" holding every position
  for (int32_t seq = 0; seq < plan.num_sequences; ++seq) {
    const int32_t r0 = plan.query_start[seq], r1 = plan.query_start[seq + 1];
    if (r0 == r1) continue;
    const int32_t* table = plan.block_tables.data() + int64_t(seq) * plan.max_blocks;
    auto lowest = [&](int32_t pos) {
      return shape.sliding_window > 0 ? std::max(0, pos - shape.sliding_window + 1) : 0;
    };
    const int32_t lo = lowest(plan.positions[r0]), hi = plan.positions[r1 - 1];
    const int64_t span = hi - lo + 1;
    pool_->parallel_for(span * Hkv, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const int kvh = int(i / span);
        const int32_t j = lo + int32_t(i % span);
        const int64_t slot = int64_t(table[j / spec.block_len]) * spec.block_len + j % spec.block_len;
        for (int kv = 0; kv < 2; ++kv)
          kv_dequantize_row(spec.format, rows.elements(slot, kv, kvh), rows.params(slot, kv, kvh), D,
                            keys + size_t(kv) * kv_stride + size_t(kvh) * head_stride + size_t(j) * D);
      }
    });
    size_t end_group = first_group;
    while (end_group < groups.size() && groups[end_group].seq == seq) ++end_group;
    pool_->parallel_for_with_thread(int64_t(end_group - first_group) * Hq, [&](int thread, int64_t i0, int64_t i1) {
      float* scores = attention_scratch_.data() + size_t(thread) * per_thread;
      for (int64_t item = i0; item < i1; ++item) {
        const AttentionRowGroup& g = groups[first_group + size_t(item / Hq)];
        const int h = int(item % Hq);
        cpu::AttendArgs a;
        a.k = keys + size_t(h / group) * head_stride;
        a.v_offset = int64_t(kv_stride);
        a.table = kOneBlock;
        a.block_len = int(context);
        a.block_stride = 0;
        a.head_dim = D;
        a.pos = plan.positions[g.first_row];
        a.window = std::max(shape.sliding_window, 0);
        a.lo = lowest(a.pos);
        a.rows = g.rows;
        a.row_stride = int64_t(Hq) * D;
        a.scale = shape.scale;
        const int64_t at = g.first_row * int64_t(Hq) * D + int64_t(h) * D;
        k.attend(q.ptr<float>() + at, a, scores, out.ptr<float>() + at);
      }
    });
    first_group = end_group;
  }
}

}  // namespace turbine
