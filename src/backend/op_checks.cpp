// The public ops of Backend: each checks its arguments against the contract in backend.h, once for
// every backend, and then hands them to the backend's do_* implementation. An Error names the
// backend's device and the op ("cuda linear: out has shape [2, 5], expected [2, 4]").
#include <algorithm>
#include <initializer_list>
#include <string>

#include "backend/backend.h"
#include "backend/shape_string.h"
#include "core/error.h"

namespace turbine {
namespace {

const char* device_string(Device d) { return d == Device::Cpu ? "cpu" : "cuda"; }

// The checks of one op call on one backend; every failure names both.
class OpCheck {
 public:
  OpCheck(const Backend& backend, const char* op)
      : backend_(backend), device_(backend.device()), compute_(backend.compute_dtype()), op_(op) {}

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    turbine::fail("{} {}: {}", device_string(device_), op_, fmt::format(format, std::forward<Args>(args)...));
  }

  // Defined (or empty) and in this backend's memory.
  const Tensor& present(const Tensor& t, const char* what) const {
    if (!t.defined() && (t.shape.empty() || t.numel() != 0)) fail("{} is undefined", what);
    if (t.device != device_) fail("{} is in {} memory, not {}", what, device_string(t.device), device_string(device_));
    return t;
  }
  const Tensor& dtype(const Tensor& t, DType want, const char* what) const {
    present(t, what);
    if (t.dtype != want) fail("{} must be {}, got {}", what, dtype_name(want), dtype_name(t.dtype));
    return t;
  }
  // Weights and activations: the backend's compute dtype.
  const Tensor& compute(const Tensor& t, const char* what) const { return dtype(t, compute_, what); }
  // Matrix weights: the compute dtype, or the type the backend keeps checkpoint weights of that type in.
  const Tensor& weight(const Tensor& t, const char* what) const {
    present(t, what);
    if (t.dtype != compute_ && t.dtype != backend_.weight_dtype(t.dtype))
      fail("{} must be {}, got {}", what, dtype_name(compute_), dtype_name(t.dtype));
    return t;
  }
  const Tensor& rank(const Tensor& t, int want, const char* what) const {
    if (t.rank() != want) fail("{} must have {} dimension(s), has shape {}", what, want, shape_string(t.shape));
    return t;
  }
  // Compared in place: the checks run before every op, so they allocate nothing unless they fail.
  void shape(const Tensor& t, std::initializer_list<int64_t> want, const char* what) const {
    if (!std::equal(t.shape.begin(), t.shape.end(), want.begin(), want.end()))
      fail("{} has shape {}, expected {}", what, shape_string(t.shape), shape_string(std::vector<int64_t>(want)));
  }
  void shape(const Tensor& t, const std::vector<int64_t>& want, const char* what) const {
    if (t.shape != want) fail("{} has shape {}, expected {}", what, shape_string(t.shape), shape_string(want));
  }
  DType compute_dtype() const { return compute_; }

 private:
  const Backend& backend_;
  Device device_;
  DType compute_;
  const char* op_;
};

bool has(const Tensor* t) { return t && t->defined(); }

// x [R, C], weight [C], out [R, C], all in the compute dtype.
void check_norm(const OpCheck& c, const Tensor& x, const Tensor& weight, const Tensor& out) {
  c.rank(c.compute(x, "x"), 2, "x");
  c.shape(c.compute(weight, "weight"), {x.dim(1)}, "weight");
  c.shape(c.compute(out, "out"), {x.dim(0), x.dim(1)}, "out");
}

// x [T, K] in the compute dtype, weight [N, K] (dense: the compute dtype or the backend's weight
// dtype; 4-bit: made by this backend's pack_int4, its group size dividing K), bias [N] or none,
// out [T, N] in the compute dtype or fp32.
void check_linear(const OpCheck& c, const Tensor& x, const LinearWeight& weight, const Tensor* bias,
                  const Tensor& out, const char* out_name) {
  if (x.dtype == DType::F32 && !weight.quantized() && weight.dense.defined() && weight.dense.dtype == DType::F32) {
    // A full-precision product, on any backend: everything fp32.
    c.rank(c.present(x, "x"), 2, "x");
    c.rank(c.present(weight.dense, "weight"), 2, "weight");
    if (weight.cols() != x.dim(1)) c.fail("x has {} columns, weight {}", x.dim(1), weight.cols());
    c.shape(c.dtype(out, DType::F32, out_name), {x.dim(0), weight.rows()}, out_name);
    if (has(bias)) c.shape(c.dtype(*bias, DType::F32, "bias"), {weight.rows()}, "bias");
    return;
  }
  c.rank(c.compute(x, "x"), 2, "x");
  if (weight.quantized()) {
    const Int4Weight& w = weight.int4;
    c.present(w.packed, "the 4-bit weight");
    if (w.group_size <= 0 || w.k % w.group_size) c.fail("4-bit group size {} does not divide k = {}", w.group_size, w.k);
  } else {
    c.rank(c.weight(weight.dense, "weight"), 2, "weight");
  }
  if (weight.cols() != x.dim(1)) c.fail("x has {} columns, weight {}", x.dim(1), weight.cols());
  c.present(out, out_name);
  if (out.dtype != c.compute_dtype() && out.dtype != DType::F32)
    c.fail("{} must be {} or float32, got {}", out_name, dtype_name(c.compute_dtype()), dtype_name(out.dtype));
  c.shape(out, {x.dim(0), weight.rows()}, out_name);
  if (has(bias)) c.shape(c.compute(*bias, "bias"), {weight.rows()}, "bias");
}

// silu_mul's gate_up [T, 2I] and out [T, I], both in the compute dtype.
void check_silu_mul(const OpCheck& c, const Tensor& gate_up, const Tensor& out) {
  c.rank(c.compute(gate_up, "gate_up"), 2, "gate_up");
  if (gate_up.dim(1) % 2) c.fail("gate_up width {} is odd", gate_up.dim(1));
  c.shape(c.compute(out, "out"), {gate_up.dim(0), gate_up.dim(1) / 2}, "out");
}

// The residual stream and pre-norm weight of a fused op; returns the stream's width.
void check_pre_norm(const OpCheck& c, const PreNorm& pre) {
  const Tensor& x = c.rank(c.compute(pre.residual.current, "the residual"), 2, "the residual");
  if (pre.delta) c.shape(c.compute(*pre.delta, "the residual's delta"), x.shape, "the residual's delta");
  if (pre.residual.spare.defined())
    c.shape(c.compute(pre.residual.spare, "the spare residual"), x.shape, "the spare residual");
  c.shape(c.compute(pre.weight, "the norm weight"), {x.dim(1)}, "the norm weight");
  c.shape(c.compute(pre.normed, "normed"), x.shape, "normed");
}

// The batch, the heads and the cache agree: the cache holds this layer, its heads are the
// attention's, and the plan's block tables were checked against a cache of this geometry.
void check_cache(const OpCheck& c, const AttentionShape& shape, const KvCache& cache, int layer,
                 const BatchMeta& meta) {
  if (!meta.plan) c.fail("the batch has no plan");
  // The batch was uploaded by this backend (its index arrays are in this backend's memory).
  c.present(meta.positions, "the batch's position array");
  c.present(meta.slot_mapping, "the batch's slot array");
  const int Hq = shape.num_heads, Hkv = shape.num_kv_heads, D = shape.head_dim;
  if (Hq <= 0 || Hkv <= 0 || D <= 0 || Hq % Hkv)
    c.fail("bad head counts: {} query heads, {} kv heads, head_dim {}", Hq, Hkv, D);
  if (shape.sliding_window < 0) c.fail("negative sliding window {}", shape.sliding_window);
  const KvCacheSpec& spec = cache.spec;
  if (spec.dtype != c.compute_dtype())
    c.fail("the cache is {}, the compute dtype {}", dtype_name(spec.dtype), dtype_name(c.compute_dtype()));
  c.dtype(cache.data, spec.dtype, "the cache");
  if (spec.head_dim % kv_head_dim_multiple(spec.format))
    c.fail("the cache's format ({}) needs a head_dim that is a multiple of {}, got {}", kv_format_name(spec.format),
           kv_head_dim_multiple(spec.format), spec.head_dim);
  if (cache.data.bytes() != spec.bytes())
    c.fail("the cache holds {} bytes, its geometry needs {}", cache.data.bytes(), spec.bytes());
  if (spec.num_kv_heads != Hkv || spec.head_dim != D)
    c.fail("the cache has {} kv heads of {} dims, the attention {} of {}", spec.num_kv_heads, spec.head_dim, Hkv, D);
  if (layer < 0 || layer >= spec.num_layers) c.fail("layer {} outside the cache (0..{})", layer, spec.num_layers - 1);
  const BatchPlan& plan = *meta.plan;
  if (plan.block_len != spec.block_len || plan.num_blocks > spec.num_blocks)
    c.fail("the batch was planned for {} blocks of {} tokens, the cache has {} of {}", plan.num_blocks, plan.block_len,
           spec.num_blocks, spec.block_len);
}

void check_rope_store(const OpCheck& c, const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm,
                      const RopeTable& rope, const AttentionShape& shape, const KvCache& cache, int layer,
                      const BatchMeta& meta, const Tensor& q_out) {
  check_cache(c, shape, cache, layer, meta);
  const int Hq = shape.num_heads, Hkv = shape.num_kv_heads, D = shape.head_dim;
  if (rope.rotary_dim < 0 || rope.rotary_dim > D || rope.rotary_dim % 2 ||
      int64_t(rope.inv_freq.size()) != rope.rotary_dim / 2)
    c.fail("a rope table of {} dims ({} frequencies) does not fit head_dim {}", rope.rotary_dim, rope.inv_freq.size(),
           D);
  const int64_t T = meta.plan->num_tokens;
  c.shape(c.compute(qkv, "qkv"), {T, int64_t(Hq + 2 * Hkv) * D}, "qkv");
  c.shape(c.compute(q_out, "q_out"), {T, int64_t(Hq) * D}, "q_out");
  if (has(q_norm)) c.shape(c.compute(*q_norm, "q_norm"), {D}, "q_norm");
  if (has(k_norm)) c.shape(c.compute(*k_norm, "k_norm"), {D}, "k_norm");
}

// Logits rows [R, V] in fp32.
void check_logits(const OpCheck& c, const Tensor& logits) {
  c.rank(c.dtype(logits, DType::F32, "logits"), 2, "logits");
}

}  // namespace

KvCache Backend::allocate_kv_cache(const KvCacheSpec& spec) {
  const OpCheck c(*this, "allocate_kv_cache");
  if (spec.num_layers <= 0 || spec.num_blocks <= 0 || spec.block_len <= 0 || spec.num_kv_heads <= 0 ||
      spec.head_dim <= 0)
    c.fail("bad KV cache geometry ({} layers, {} blocks of {} tokens, {} kv heads, head_dim {})", spec.num_layers,
           spec.num_blocks, spec.block_len, spec.num_kv_heads, spec.head_dim);
  if (spec.dtype != compute_dtype())
    c.fail("the KV cache must be {} (the compute dtype), got {}", dtype_name(compute_dtype()), dtype_name(spec.dtype));
  if (spec.head_dim % kv_head_dim_multiple(spec.format))
    c.fail("--kv-quant {} needs a head_dim that is a multiple of {}, the model's is {}", kv_format_name(spec.format),
           kv_head_dim_multiple(spec.format), spec.head_dim);
  return do_allocate_kv_cache(spec);
}

void Backend::embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  const OpCheck c(*this, "embedding");
  c.rank(c.weight(table, "the table"), 2, "the table");
  c.rank(c.dtype(ids, DType::I32, "the token ids"), 1, "the token ids");
  c.shape(c.compute(out, "out"), {ids.dim(0), table.dim(1)}, "out");
  do_embedding(table, ids, out);
}

void Backend::rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  check_norm(OpCheck(*this, "rms_norm"), x, weight, out);
  do_rms_norm(x, weight, eps, out);
}

void Backend::add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  const OpCheck c(*this, "add_rms_norm");
  check_norm(c, x, weight, out);
  c.shape(c.compute(residual, "residual"), x.shape, "residual");
  do_add_rms_norm(residual, x, weight, eps, out);
}

void Backend::linear(const Tensor& x, const LinearWeight& weight, const Tensor* bias, Tensor& out) {
  check_linear(OpCheck(*this, "linear"), x, weight, bias, out, "out");
  if (weight.quantized())
    do_linear_int4(x, weight.int4, bias, out);
  else
    do_linear(x, weight.dense, bias, out);
}

Int4Weight Backend::pack_int4(const HostInt4Matrix& m) {
  (void)m;
  turbine::fail("{}: 4-bit weights are not supported on this backend", name());
}

void Backend::do_linear_int4(const Tensor& x, const Int4Weight& weight, const Tensor* bias, Tensor& out) {
  (void)x, (void)weight, (void)bias, (void)out;
  turbine::fail("{}: 4-bit weights are not supported on this backend", name());
}

void Backend::silu_mul(const Tensor& gate_up, Tensor& out) {
  const OpCheck c(*this, "silu_mul");
  check_silu_mul(c, gate_up, out);
  do_silu_mul(gate_up, out);
}

void Backend::qkv_rope_store(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                             const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                             const BatchMeta& meta, Tensor& q_out) {
  check_rope_store(OpCheck(*this, "qkv_rope_store"), qkv, q_norm, k_norm, rope, shape, cache, layer, meta, q_out);
  do_qkv_rope_store(qkv, q_norm, k_norm, norm_eps, rope, shape, cache, layer, meta, q_out);
}

void Backend::attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                        const AttentionShape& shape, Tensor& out) {
  const OpCheck c(*this, "attention");
  check_cache(c, shape, cache, layer, meta);
  // Released block-table entries (kReleasedBlock) are safe only for queries whose window does not
  // reach them, which plan_batch checked for the plan's window.
  const int32_t planned = meta.plan->sliding_window;
  if (planned > 0 && (shape.sliding_window == 0 || shape.sliding_window > planned))
    c.fail("the batch was planned for a sliding window of {} tokens, the attention has {}", planned,
           shape.sliding_window);
  const int64_t T = meta.plan->num_tokens, width = int64_t(shape.num_heads) * shape.head_dim;
  c.shape(c.compute(q, "q"), {T, width}, "q");
  c.shape(c.compute(out, "out"), {T, width}, "out");
  do_attention(q, cache, layer, meta, shape, out);
}

void Backend::norm_linear(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& out) {
  const OpCheck c(*this, "norm_linear");
  check_pre_norm(c, pre);
  check_linear(c, pre.normed, weight, bias, out, "out");
  do_norm_linear(pre, weight, bias, out);
}

void Backend::norm_qkv_rope_store(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& qkv,
                                  const QkvRopeStore& r, Tensor& q_out) {
  const OpCheck c(*this, "norm_qkv_rope_store");
  check_pre_norm(c, pre);
  check_linear(c, pre.normed, weight, bias, qkv, "qkv");
  check_rope_store(c, qkv, r.q_norm, r.k_norm, r.rope, r.shape, r.cache, r.layer, r.meta, q_out);
  do_norm_qkv_rope_store(pre, weight, bias, qkv, r, q_out);
}

void Backend::norm_linear_silu_mul(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& gate_up,
                                   Tensor& out) {
  const OpCheck c(*this, "norm_linear_silu_mul");
  check_pre_norm(c, pre);
  check_linear(c, pre.normed, weight, bias, gate_up, "gate_up");
  check_silu_mul(c, gate_up, out);
  do_norm_linear_silu_mul(pre, weight, bias, gate_up, out);
}

void Backend::norm_mlp(const PreNorm& pre, const LinearWeight& gate_up, const Tensor* gate_up_bias,
                       const LinearWeight& down, const Tensor* down_bias, Tensor& gate_up_out, Tensor& mlp,
                       Tensor& out) {
  const OpCheck c(*this, "norm_mlp");
  check_pre_norm(c, pre);
  check_linear(c, pre.normed, gate_up, gate_up_bias, gate_up_out, "gate_up");
  check_silu_mul(c, gate_up_out, mlp);
  check_linear(c, mlp, down, down_bias, out, "out");
  do_norm_mlp(pre, gate_up, gate_up_bias, down, down_bias, gate_up_out, mlp, out);
}

void Backend::gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) {
  const OpCheck c(*this, "gather_rows");
  c.rank(c.present(x, "x"), 2, "x");
  if (x.dtype != compute_dtype() && x.dtype != DType::F32)
    c.fail("x must be {} or float32, got {}", dtype_name(compute_dtype()), dtype_name(x.dtype));
  c.rank(c.dtype(rows, DType::I32, "the rows"), 1, "the rows");
  c.shape(c.dtype(out, x.dtype, "out"), {rows.dim(0), x.dim(1)}, "out");
  do_gather_rows(x, rows, out);
}

void Backend::moe_route(const Tensor& logits, int k, bool normalize, Tensor& ids, Tensor& weights) {
  const OpCheck c(*this, "moe_route");
  c.rank(c.dtype(logits, DType::F32, "the router logits"), 2, "the router logits");
  const int64_t T = logits.dim(0), E = logits.dim(1);
  if (k < 1 || k > E) c.fail("k {} outside 1..{} (the experts)", k, E);
  c.shape(c.dtype(ids, DType::I32, "ids"), {T, int64_t(k)}, "ids");
  c.shape(c.dtype(weights, DType::F32, "weights"), {T, int64_t(k)}, "weights");
  do_moe_route(logits, k, normalize, ids, weights);
}

void Backend::moe_experts(const Tensor& x, const Tensor& gate_up, const Tensor& down, const Tensor& ids,
                          const Tensor& weights, Tensor& out) {
  const OpCheck c(*this, "moe_experts");
  c.rank(c.compute(x, "x"), 2, "x");
  const int64_t T = x.dim(0), H = x.dim(1);
  c.rank(c.weight(gate_up, "gate_up"), 3, "gate_up");
  const int64_t E = gate_up.dim(0), I = gate_up.dim(1) / 2;
  if (gate_up.dim(1) % 2 || I == 0) c.fail("gate_up has {} rows per expert, expected an even number", gate_up.dim(1));
  c.shape(gate_up, {E, 2 * I, H}, "gate_up");
  c.shape(c.weight(down, "down"), {E, H, I}, "down");
  if (down.dtype != gate_up.dtype) c.fail("down is {}, gate_up {}", dtype_name(down.dtype), dtype_name(gate_up.dtype));
  c.rank(c.dtype(ids, DType::I32, "ids"), 2, "ids");
  if (ids.dim(0) != T || ids.dim(1) < 1 || ids.dim(1) > E)
    c.fail("ids has shape {}, expected [{}, 1..{}]", shape_string(ids.shape), T, E);
  c.shape(c.dtype(weights, DType::F32, "weights"), ids.shape, "weights");
  c.shape(c.compute(out, "out"), {T, H}, "out");
  do_moe_experts(x, gate_up, down, ids, weights, out);
}

std::vector<int32_t> Backend::argmax_rows(const Tensor& logits) {
  check_logits(OpCheck(*this, "argmax_rows"), logits);
  return do_argmax_rows(logits);
}

TopCandidates Backend::top_candidates(const Tensor& logits, std::span<const int32_t> rows,
                                      std::span<const float> temperatures, int k) {
  const OpCheck c(*this, "top_candidates");
  check_logits(c, logits);
  if (rows.size() != temperatures.size())
    c.fail("{} rows but {} temperatures (one per row)", rows.size(), temperatures.size());
  if (k < 1 || k > kMaxTopCandidates) c.fail("k {} outside 1..{}", k, kMaxTopCandidates);
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r] < 0 || rows[r] >= logits.dim(0)) c.fail("row {} outside 0..{}", rows[r], logits.dim(0) - 1);
    if (!(temperatures[r] > 0)) c.fail("temperature {} of row {} must be > 0", temperatures[r], rows[r]);
  }
  return do_top_candidates(logits, rows, temperatures, k);
}

void Backend::repetition_penalty(Tensor& logits, std::span<const int32_t> rows, std::span<const int32_t> ids,
                                 std::span<const float> penalties) {
  const OpCheck c(*this, "repetition_penalty");
  check_logits(c, logits);
  if (rows.size() != ids.size() || rows.size() != penalties.size())
    c.fail("{} rows, {} ids and {} penalties differ in length", rows.size(), ids.size(), penalties.size());
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i] < 0 || rows[i] >= logits.dim(0) || ids[i] < 0 || ids[i] >= logits.dim(1))
      c.fail("({}, {}) outside the logits [{}, {}]", rows[i], ids[i], logits.dim(0), logits.dim(1));
  do_repetition_penalty(logits, rows, ids, penalties);
}

}  // namespace turbine
