// attention(): each new token attends over its own sequence's cached keys at positions
// lo..pos (lo = 0, or pos - window + 1 with a sliding window), read through the block table
// from the paged cache [layer][block][k|v][kv_head][block_len][head_dim]. Softmax in two passes
// (scores, then max-shifted exponentials, vectorized in the kernel table); query heads share KV heads
// (GQA) by h / group. Work items are (row group, query heads): up to kMaxAttendRows consecutive new
// rows of one sequence go through the kernel together, so that a prefill reads each cache block once
// per group instead of once per row; a single new row (decode) goes through with the query heads that
// share its kv head (up to kMaxAttendRows of them), so that a GQA decode reads each key once per kv
// head instead of once per query head. A quantized cache is read in place: the kernel dequantizes each
// run of rows into a small buffer as it reaches it.
#include <algorithm>
#include <vector>

#include "backend/cpu/cpu_backend.h"

namespace turbine {

namespace {

// The work items' row groups: each sequence's new rows cut into runs of up to kMaxAttendRows, a single
// row with the largest divisor of the GQA group that fits kMaxAttendRows as its heads per item.
// Returns the number of work items.
int64_t group_rows(const BatchPlan& plan, int num_heads, int gqa_group, std::vector<AttentionRowGroup>& groups) {
  int heads_per_row = 1;
  for (int d = std::min(gqa_group, cpu::kMaxAttendRows); d > 1 && heads_per_row == 1; --d)
    if (gqa_group % d == 0) heads_per_row = d;
  groups.clear();
  int64_t items = 0;
  for (int32_t s = 0; s < plan.num_sequences; ++s)
    for (int32_t r = plan.query_start[s]; r < plan.query_start[s + 1]; r += cpu::kMaxAttendRows) {
      const int32_t rows = std::min(cpu::kMaxAttendRows, plan.query_start[s + 1] - r);
      const int heads = rows == 1 ? heads_per_row : 1;
      groups.push_back({s, r, rows, heads, items});
      items += num_heads / heads;
    }
  return items;
}

}  // namespace

void CpuBackend::do_attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                              const AttentionShape& shape, Tensor& out) {
  const BatchPlan& plan = *meta.plan;
  const int Hq = shape.num_heads, Hkv = shape.num_kv_heads, D = shape.head_dim;
  const KvCacheSpec& spec = cache.spec;
  const bool quantized = spec.format != KvFormat::Dense;
  if (quantized && D > cpu::kQuantizedRunMaxHeadDim)
    fail("cpu attention: a {} cache takes head_dim up to {}, not {}", kv_format_name(spec.format),
         cpu::kQuantizedRunMaxHeadDim, D);
  const int group = Hq / Hkv;
  std::vector<AttentionRowGroup>& groups = attention_groups_;
  const int64_t items = group_rows(plan, Hq, group, groups);

  const int64_t head_stride = int64_t(spec.block_len) * D;
  const int64_t kv_stride = head_stride * Hkv;
  const int64_t block_stride = 2 * kv_stride;
  const float* layer_base =
      quantized ? nullptr : cache.data.ptr<float>() + int64_t(layer) * spec.num_blocks * block_stride;
  cpu::QuantizedKvRows rows;
  if (quantized) {
    rows.format = spec.format;
    rows.blocks = static_cast<const uint8_t*>(cache.data.data) + size_t(layer) * spec.num_blocks * spec.block_bytes();
    rows.block_bytes = spec.block_bytes();
    rows.param_offset = spec.param_offset();
    rows.element_bytes = int(kv_row_element_bytes(spec.format, D, spec.dtype));
    rows.param_bytes = int(kv_row_param_bytes(spec.format));
  }

  // Each thread has its own scores in the scratch, which grows to the longest context seen and is then
  // reused.
  const size_t per_thread = size_t(plan.max_context) * cpu::kMaxAttendRows;
  if (attention_scratch_.size() < per_thread * size_t(pool_->size()))
    attention_scratch_.resize(per_thread * size_t(pool_->size()));
  const cpu::KernelTable& k = *kernels_;
  pool_->parallel_for_with_thread(items, [&](int thread, int64_t i0, int64_t i1) {
    float* scores = attention_scratch_.data() + size_t(thread) * per_thread;
    auto gi = std::upper_bound(groups.begin(), groups.end(), i0,
                               [](int64_t i, const AttentionRowGroup& g) { return i < g.first_item; }) -
              1;
    for (int64_t item = i0; item < i1; ++item) {
      if (gi + 1 != groups.end() && item >= gi[1].first_item) ++gi;
      const AttentionRowGroup& g = *gi;
      const int h = int(item - g.first_item) * g.heads_per_item, kvh = h / group;
      cpu::AttendArgs a;
      a.k = quantized ? nullptr : layer_base + kvh * head_stride;
      a.v_offset = kv_stride;
      a.table = plan.block_tables.data() + int64_t(g.seq) * plan.max_blocks;
      a.block_len = spec.block_len;
      a.block_stride = block_stride;
      a.head_dim = D;
      a.pos = plan.positions[g.first_row];
      a.window = std::max(shape.sliding_window, 0);
      a.lo = a.window > 0 ? std::max(0, a.pos - a.window + 1) : 0;
      a.rows = g.heads_per_item > 1 ? g.heads_per_item : g.rows;
      a.pos_step = g.heads_per_item > 1 ? 0 : 1;
      a.row_stride = g.heads_per_item > 1 ? D : int64_t(Hq) * D;
      a.scale = shape.scale;
      a.quantized = rows;
      if (quantized) {  // rows [k=0|v=1][kv_head][block_len] in each block
        a.quantized.k_row = int64_t(kvh) * spec.block_len;
        a.quantized.v_row = int64_t(Hkv + kvh) * spec.block_len;
      }
      const int64_t at = g.first_row * int64_t(Hq) * D + int64_t(h) * D;
      k.attend(q.ptr<float>() + at, a, scores, out.ptr<float>() + at);
    }
  });
}

}  // namespace turbine
