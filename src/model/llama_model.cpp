// LlamaModel: loads the Llama-family weights (fusing q|k|v and gate|up rows on the host) and runs
// one forward step as a straight list of backend ops.
#include "model/llama_model.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "backend/batch_input.h"
#include "core/error.h"
#include "model/awq_format.h"
#include "model/int4_groups.h"
#include "model/rope.h"
#include "model/weight_names.h"

namespace turbine {

namespace {

// Uploads checkpoint tensors (vectors in the backend's compute dtype, matrices in its weight dtype)
// and reports progress.
class WeightLoader {
 public:
  WeightLoader(const Checkpoint& ckpt, Backend& backend, const LoadProgress& progress)
      : ckpt_(ckpt), backend_(backend), progress_(progress), total_(ckpt.total_bytes()) {}

  // A vector (norm weight, bias) in the compute dtype.
  Tensor load(const std::string& name, const std::vector<int64_t>& shape) { return load_as(name, shape, false); }
  // A matrix (linear, embedding, lm_head) in the dtype the backend keeps the checkpoint's type in.
  Tensor load_matrix(const std::string& name, const std::vector<int64_t>& shape) { return load_as(name, shape, true); }

  // Tensors stacked along rows into one [sum rows, cols] tensor (or one vector for rank-1 parts);
  // `matrix` as in load_matrix.
  Tensor load_rows(const std::vector<std::string>& names, const std::vector<std::vector<int64_t>>& shapes,
                   bool matrix) {
    std::vector<const TensorView*> views;
    int64_t rows = 0;
    bool same_dtype = true;
    for (size_t i = 0; i < names.size(); ++i) {
      views.push_back(&ckpt_.get(names[i], shapes[i]));
      rows += shapes[i][0];
      same_dtype = same_dtype && views[i]->dtype == views[0]->dtype;
    }
    std::vector<int64_t> shape = shapes[0];
    shape[0] = rows;
    // Same dtype (the usual case): concatenate the raw bytes; otherwise go through fp32.
    const DType host_dtype = same_dtype ? views[0]->dtype : DType::F32;
    std::vector<char> host;
    for (const TensorView* v : views) {
      const size_t at = host.size();
      host.resize(at + size_t(v->numel()) * dtype_size(host_dtype));
      if (same_dtype)
        std::memcpy(host.data() + at, v->data, v->bytes);
      else
        convert_to_f32(v->data, v->dtype, reinterpret_cast<float*>(host.data() + at), size_t(v->numel()));
    }
    Tensor t = backend_.upload(host.data(), host_dtype, shape, target_dtype(host_dtype, matrix));
    for (const TensorView* v : views) report(v->bytes);
    return t;
  }

  // A linear layer's weight from one or more checkpoint matrices stacked along rows (shapes [rows, cols]):
  // dense as in load_rows, or with `awq_group_size` > 0 each part read from AutoAWQ's qweight / qzeros /
  // scales beside `name` (model/awq_format.h) and the stack packed by the backend.
  LinearWeight load_linear(const std::vector<std::string>& names, const std::vector<std::vector<int64_t>>& shapes,
                           int awq_group_size) {
    if (awq_group_size == 0)
      return names.size() == 1 ? load_matrix(names[0], shapes[0]) : load_rows(names, shapes, true);
    std::vector<HostInt4Matrix> parts;
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string base = strip_suffix(names[i], ".weight");
      const int64_t n = shapes[i][0], k = shapes[i][1], G = awq_group_size;
      if (n % 8 != 0 || k % G != 0)
        fail(
            "{}: a [{}, {}] layer cannot hold AWQ weights of group size {} (rows a multiple of 8, group size "
            "dividing the columns)",
            base, n, k, G);
      const TensorView& qw = typed(base + ".qweight", {k, n / 8}, DType::I32);
      const TensorView& qz = typed(base + ".qzeros", {k / G, n / 8}, DType::I32);
      const TensorView& sc = typed(base + ".scales", {k / G, n}, DType::F16);
      // Copies: a mapped tensor's data need not be aligned for int32 reads.
      std::vector<int32_t> qweight(size_t(qw.numel())), qzeros(size_t(qz.numel()));
      std::vector<uint16_t> scales(size_t(sc.numel()));
      std::memcpy(qweight.data(), qw.data, qw.bytes);
      std::memcpy(qzeros.data(), qz.data, qz.bytes);
      std::memcpy(scales.data(), sc.data, sc.bytes);
      parts.push_back(unpack_awq(qweight.data(), qzeros.data(), scales.data(), n, k, int(G)));
      report(qw.bytes + qz.bytes + sc.bytes);
    }
    return backend_.pack_int4(parts.size() == 1 ? parts[0] : stack_int4_rows(parts));
  }

  void finish() {
    if (progress_) progress_(total_, total_);
  }

 private:
  Tensor load_as(const std::string& name, const std::vector<int64_t>& shape, bool matrix) {
    const TensorView& v = ckpt_.get(name, shape);
    Tensor t = backend_.upload(v.data, v.dtype, shape, target_dtype(v.dtype, matrix));
    report(v.bytes);
    return t;
  }

  static std::string strip_suffix(const std::string& name, const std::string& suffix) {
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return name.substr(0, name.size() - suffix.size());
    return name;
  }

  const TensorView& typed(const std::string& name, const std::vector<int64_t>& shape, DType dtype) {
    const TensorView& v = ckpt_.get(name, shape);
    if (v.dtype != dtype)
      fail("{}: tensor '{}' is {}, AWQ stores it as {}", v.file.string(), name, dtype_name(v.dtype), dtype_name(dtype));
    return v;
  }

  DType target_dtype(DType checkpoint_dtype, bool matrix) const {
    return matrix ? backend_.weight_dtype(checkpoint_dtype) : backend_.compute_dtype();
  }

  void report(size_t bytes) {
    done_ += bytes;
    if (progress_) progress_(std::min(done_, total_), total_);
  }

  const Checkpoint& ckpt_;
  Backend& backend_;
  const LoadProgress& progress_;
  size_t total_ = 0, done_ = 0;
};

}  // namespace

LlamaModel::LlamaModel(const ModelConfig& config, const Checkpoint& checkpoint, Backend& backend,
                       const LoadProgress& progress)
    : config_(config), backend_(backend) {
  const ModelConfig& c = config_;
  if (c.hidden_size <= 0 || c.num_layers <= 0 || c.num_heads <= 0 || c.num_kv_heads <= 0 || c.head_dim <= 0 ||
      c.vocab_size <= 0 || c.intermediate_size <= 0 || c.num_heads % c.num_kv_heads != 0)
    fail("model config: inconsistent sizes (hidden {}, layers {}, heads {}/{}, head_dim {}, vocab {})", c.hidden_size,
         c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim, c.vocab_size);
  const WeightNames names = weight_names(c.arch);
  const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size, D = c.head_dim;
  const int64_t q_rows = int64_t(c.num_heads) * D, kv_rows = int64_t(c.num_kv_heads) * D;

  WeightLoader loader(checkpoint, backend_, progress);
  weights_.embed_tokens = loader.load_matrix(names.embed_tokens, {V, H});
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeightNames n = names.layer(l);
    LayerWeights w;
    w.attn_norm = loader.load(n.attn_norm, {H});
    const int G = c.awq_group_size;
    w.qkv = loader.load_linear({n.q, n.k, n.v}, {{q_rows, H}, {kv_rows, H}, {kv_rows, H}}, G);
    if (c.qkv_bias)
      w.qkv_bias = loader.load_rows({n.q_bias, n.k_bias, n.v_bias}, {{q_rows}, {kv_rows}, {kv_rows}}, false);
    w.o_proj = loader.load_linear({n.o}, {{H, q_rows}}, G);
    if (c.o_bias) w.o_bias = loader.load(n.o_bias, {H});
    if (c.qk_norm) {
      w.q_norm = loader.load(n.q_norm, {D});
      w.k_norm = loader.load(n.k_norm, {D});
    }
    w.mlp_norm = loader.load(n.mlp_norm, {H});
    w.gate_up = loader.load_linear({n.gate, n.up}, {{I, H}, {I, H}}, G);
    if (c.mlp_bias) w.gate_up_bias = loader.load_rows({n.gate_bias, n.up_bias}, {{I}, {I}}, false);
    w.down = loader.load_linear({n.down}, {{H, I}}, G);
    if (c.mlp_bias) w.down_bias = loader.load(n.down_bias, {H});
    weights_.layers.push_back(std::move(w));
  }
  weights_.final_norm = loader.load(names.final_norm, {H});
  // Tied models share the embedding (some tied checkpoints still carry a copy of lm_head).
  weights_.lm_head = c.tie_word_embeddings ? weights_.embed_tokens : loader.load_matrix(names.lm_head, {V, H});
  loader.finish();

  if (c.rope.type != RopeType::DynamicNtk) fixed_rope_ = make_rope_table(c, 0);
}

KvCacheSpec LlamaModel::kv_cache_spec(int num_blocks, int block_len) const {
  KvCacheSpec spec;
  spec.num_layers = config_.num_layers;
  spec.num_blocks = num_blocks;
  spec.block_len = block_len;
  spec.num_kv_heads = config_.num_kv_heads;
  spec.head_dim = config_.head_dim;
  spec.dtype = backend_.compute_dtype();
  return spec;
}

void LlamaModel::reserve_activations(int64_t tokens) {
  if (tokens <= act_capacity_) return;
  ++activation_epoch_;  // recordings point into the buffers about to be replaced
  const ModelConfig& c = config_;
  const int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const DType dt = backend_.compute_dtype();
  act_.residual = backend_.empty(dt, {tokens, H});
  act_.residual_spare = backend_.empty(dt, {tokens, H});
  act_.normed = backend_.empty(dt, {tokens, H});
  act_.qkv = backend_.empty(dt, {tokens, int64_t(c.num_heads + 2 * c.num_kv_heads) * D});
  act_.q = backend_.empty(dt, {tokens, int64_t(c.num_heads) * D});
  act_.attn = backend_.empty(dt, {tokens, int64_t(c.num_heads) * D});
  act_.proj = backend_.empty(dt, {tokens, H});
  act_.gate_up = backend_.empty(dt, {tokens, 2 * I});
  act_.mlp = backend_.empty(dt, {tokens, I});
  act_capacity_ = tokens;
}

void LlamaModel::check_step(const BatchInput& input, const KvCache& cache) const {
  const ModelConfig& c = config_;
  const KvCacheSpec& spec = cache.spec;
  if (spec.num_layers != c.num_layers || spec.num_kv_heads != c.num_kv_heads || spec.head_dim != c.head_dim)
    fail("KV cache geometry ({} layers, {} kv heads, head_dim {}) does not fit the model ({}, {}, {})", spec.num_layers,
         spec.num_kv_heads, spec.head_dim, c.num_layers, c.num_kv_heads, c.head_dim);
  for (int32_t id : input.token_ids)
    if (id < 0 || id >= c.vocab_size) fail("token id {} is outside the vocabulary (0..{})", id, c.vocab_size - 1);
  if (input.sequences.empty()) fail("forward: the batch has no sequences");
}

Tensor LlamaModel::forward(const BatchInput& input, KvCache& cache) {
  check_step(input, cache);
  const BatchPlan plan = plan_batch(input, cache.spec.block_len, cache.spec.num_blocks, config_.sliding_window);
  reserve_activations(plan.num_tokens);
  const BatchMeta meta = backend_.upload_batch(plan);
  return run_step(plan, meta, cache, nullptr);
}

Tensor LlamaModel::run_step(const BatchPlan& plan, const BatchMeta& meta, KvCache& cache, const Tensor* logits_out) {
  const ModelConfig& c = config_;
  const int64_t T = plan.num_tokens;
  if (T > act_capacity_) throw std::logic_error("run_step: activations not reserved for the plan's tokens");
  ResidualStream residual{act_.residual.rows(0, T), act_.residual_spare.rows(0, T)};
  Tensor normed = act_.normed.rows(0, T), qkv = act_.qkv.rows(0, T), q = act_.q.rows(0, T), attn = act_.attn.rows(0, T),
         proj = act_.proj.rows(0, T), gate_up = act_.gate_up.rows(0, T), mlp = act_.mlp.rows(0, T);

  const RopeTable rope = c.rope.type == RopeType::DynamicNtk ? make_rope_table(c, plan.max_context) : fixed_rope_;
  const AttentionShape shape{c.num_heads, c.num_kv_heads, c.head_dim, float(1.0 / std::sqrt(double(c.head_dim))),
                             c.sliding_window};
  const float eps = float(c.rms_norm_eps);
  auto opt = [](const Tensor& t) { return t.defined() ? &t : nullptr; };

  backend_.embedding(weights_.embed_tokens, meta.token_ids, residual.current);
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& w = weights_.layers[l];
    // Pre-attention norm; from layer 1 on it also adds the previous MLP output to the residual.
    const PreNorm attn_norm{residual, l == 0 ? nullptr : &proj, w.attn_norm, eps, normed};
    const QkvRopeStore store{opt(w.q_norm), opt(w.k_norm), eps, rope, shape, cache, l, meta};
    backend_.norm_qkv_rope_store(attn_norm, w.qkv, opt(w.qkv_bias), qkv, store, q);
    backend_.attention(q, cache, l, meta, shape, attn);
    backend_.linear(attn, w.o_proj, opt(w.o_bias), proj);
    backend_.norm_linear(PreNorm{residual, &proj, w.mlp_norm, eps, normed}, w.gate_up, opt(w.gate_up_bias), gate_up);
    backend_.silu_mul(gate_up, mlp);
    backend_.linear(mlp, w.down, opt(w.down_bias), proj);
  }
  backend_.add_rms_norm(residual.current, proj, weights_.final_norm, eps, normed);

  const int64_t R = int64_t(plan.logit_rows.size());
  if (R == 0) return backend_.empty(DType::F32, {0, int64_t(c.vocab_size)});  // no sequence wants logits
  Tensor last = backend_.empty(backend_.compute_dtype(), {R, int64_t(c.hidden_size)});
  backend_.gather_rows(normed, meta.logit_rows, last);
  Tensor logits = logits_out ? *logits_out : backend_.empty(DType::F32, {R, int64_t(c.vocab_size)});
  if (logits.dim(0) != R) fail("forward: the logits buffer has {} rows, the step {}", logits.dim(0), R);
  backend_.linear(last, weights_.lm_head, nullptr, logits);
  return logits;
}

}  // namespace turbine
