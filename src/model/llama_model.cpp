// LlamaModel: loads the Llama-family weights (fusing q|k|v and gate|up rows on the host) and runs
// one forward step as a straight list of backend ops.
#include "model/llama_model.h"

#include <cmath>
#include <algorithm>
#include <stdexcept>

#include "backend/batch_input.h"
#include "core/error.h"
#include "backend/communicator.h"
#include "model/checkpoint_shard.h"
#include "model/int4_groups.h"
#include "model/rope.h"
#include "model/tensor_parallel_group.h"

namespace turbine {

namespace {

// The projection a rank tensor is (null for the other fields): dense, or 4-bit in an AWQ model.
LinearWeight* linear_slot(ModelWeights& w, const RankTensor& t) {
  LayerWeights* l = t.layer >= 0 ? &w.layers.at(size_t(t.layer)) : nullptr;
  switch (t.field) {
    case RankField::Qkv: return &l->qkv;
    case RankField::OProj: return &l->o_proj;
    case RankField::GateUp: return &l->gate_up;
    case RankField::Down: return &l->down;
    default: return nullptr;
  }
}

// Where a rank tensor goes in the model's weights (null for a field the model does not hold).
Tensor* weight_slot(ModelWeights& w, const RankTensor& t) {
  if (LinearWeight* linear = linear_slot(w, t)) return &linear->dense;
  LayerWeights* l = t.layer >= 0 ? &w.layers.at(size_t(t.layer)) : nullptr;
  switch (t.field) {
    case RankField::EmbedTokens: return &w.embed_tokens;
    case RankField::FinalNorm: return &w.final_norm;
    case RankField::LmHead: return &w.lm_head.dense;
    case RankField::AttnNorm: return &l->attn_norm;
    case RankField::QkvBias: return &l->qkv_bias;
    case RankField::OBias: return &l->o_bias;
    case RankField::QNorm: return &l->q_norm;
    case RankField::KNorm: return &l->k_norm;
    case RankField::MlpNorm: return &l->mlp_norm;
    case RankField::GateUpBias: return &l->gate_up_bias;
    case RankField::DownBias: return &l->down_bias;
    case RankField::Router: return &l->moe.router;
    case RankField::ExpertsGateUp: return &l->moe.gate_up;
    case RankField::ExpertsDown: return &l->moe.down;
    default: return nullptr;
  }
}

void check_sizes(const ModelConfig& c) {
  if (c.hidden_size <= 0 || c.num_layers <= 0 || c.num_heads <= 0 || c.num_kv_heads <= 0 || c.head_dim <= 0 ||
      c.vocab_size <= 0 || c.intermediate_size <= 0 || c.num_heads % c.num_kv_heads != 0)
    fail("model config: inconsistent sizes (hidden {}, layers {}, heads {}/{}, head_dim {}, vocab {})", c.hidden_size,
         c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim, c.vocab_size);
  if (c.moe.num_experts > 0 && (c.moe.experts_per_token < 1 || c.moe.experts_per_token > c.moe.num_experts ||
                                c.moe.expert_intermediate_size <= 0 || c.moe.sparse_step <= 0))
    fail("model config: inconsistent experts ({} experts, {} per token, {} wide, sparse step {})", c.moe.num_experts,
         c.moe.experts_per_token, c.moe.expert_intermediate_size, c.moe.sparse_step);
}

const ModelConfig& checked(const ModelConfig& c) {
  check_sizes(c);
  return c;
}

}  // namespace

LlamaModel::LlamaModel(const ModelConfig& config, const Checkpoint& checkpoint, Backend& backend,
                       const LoadProgress& progress)
    : LlamaModel(config, CheckpointShard(checkpoint, checked(config), shard_layout(config, 0, 1)), backend,
                 shard_layout(config, 0, 1), nullptr, progress) {}

LlamaModel::LlamaModel(const ModelConfig& config, const RankWeightSource& weights, Backend& backend,
                       const ShardLayout& layout, Communicator* comm, const LoadProgress& progress)
    : config_(config), layout_(layout), comm_(comm), backend_(backend) {
  check_sizes(config_);
  local_ = shard_config(config_, layout_);
  weights_.layers.resize(size_t(config_.num_layers));
  // Vectors (norms, biases) in the compute dtype, matrices in the dtype the backend keeps the source's in.
  const size_t total = weights.total_bytes();
  size_t done = 0;
  for (const RankTensor& t : rank_tensors(config_, layout_)) {
    if (config_.awq_group_size > 0 && linear_slot(weights_, t)) {
      const HostInt4Matrix m = weights.get_int4(t);
      *linear_slot(weights_, t) = backend_.pack_int4(m);
      done += m.q.size() / 2 + m.scales.size() * 2 + m.zeros.size() / 2;
      if (progress) progress(std::min(done, total), total);
      continue;
    }
    const HostTensor h = weights.get(t);
    const DType dtype = t.matrix ? backend_.weight_dtype(h.dtype) : backend_.compute_dtype();
    *weight_slot(weights_, t) = backend_.upload(h.data, h.dtype, t.shape, dtype);
    done += h.bytes;
    if (progress) progress(std::min(done, total), total);
  }
  if (progress) progress(total, total);
  // Tied models read the embedding's rows (some tied checkpoints still carry a copy of lm_head).
  if (config_.tie_word_embeddings) weights_.lm_head = weights_.embed_tokens.rows(0, layout_.vocab_size());
  if (config_.rope.type != RopeType::DynamicNtk) fixed_rope_ = make_rope_table(config_, 0);
}

LlamaModel::~LlamaModel() = default;

void LlamaModel::drive(std::unique_ptr<TensorParallelGroup> group) {
  if (layout_.rank != 0 || !group || group->size() != layout_.size)
    throw std::logic_error("LlamaModel::drive: rank 0 drives a group of its size");
  group_ = std::move(group);
}

void LlamaModel::quantize_lm_head() {
  if (weights_.lm_head.quantized()) throw std::logic_error("LlamaModel::quantize_lm_head: already 4-bit");
  const Tensor head = weights_.lm_head.dense;
  const int64_t V = head.dim(0), H = head.dim(1);
  int group = 128;
  while (group >= 32 && H % group != 0) group /= 2;
  if (group < 32)
    fail("--lm-head-quant int4: the hidden size {} is not a multiple of 32 (the smallest 4-bit group)", H);
  // Row blocks bound the fp32 copy on the host (a 150k-row vocabulary would take gigabytes at once).
  constexpr int64_t kRowsAtOnce = 4096;
  std::vector<HostInt4Matrix> parts;
  for (int64_t r = 0; r < V; r += kRowsAtOnce) {
    const int64_t end = std::min(V, r + kRowsAtOnce);
    const std::vector<float> w = backend_.download_f32(head.rows(r, end));
    parts.push_back(quantize_int4(w, end - r, H, group));
  }
  weights_.lm_head = backend_.pack_int4(stack_int4_rows(parts));
  if (group_)
    for (int r = 1; r < group_->size(); ++r) group_->model(r).quantize_lm_head();
}

KvCache LlamaModel::allocate_kv_cache(int num_blocks, int block_len, KvFormat format) {
  KvCache cache = backend_.allocate_kv_cache(kv_cache_spec(num_blocks, block_len, format));
  if (group_)
    for (int r = 1; r < group_->size(); ++r) {
      LlamaModel& m = group_->model(r);
      cache.ranks.push_back(m.backend().allocate_kv_cache(m.kv_cache_spec(num_blocks, block_len, format)));
    }
  return cache;
}

size_t LlamaModel::kv_block_bytes(int block_len, KvFormat format) const {
  size_t bytes = kv_cache_spec(1, block_len, format).bytes();
  // GPU ranks each fill their own device's memory (rank 0's free memory speaks for all); CPU ranks
  // share one budget, so a block counts on every rank.
  if (group_ && backend_.device() == Device::Cpu)
    for (int r = 1; r < group_->size(); ++r) bytes += group_->model(r).kv_cache_spec(1, block_len, format).bytes();
  return bytes;
}

KvCacheSpec LlamaModel::kv_cache_spec(int num_blocks, int block_len, KvFormat format) const {
  KvCacheSpec spec;
  spec.num_layers = config_.num_layers;
  spec.num_blocks = num_blocks;
  spec.block_len = block_len;
  spec.num_kv_heads = local_.num_kv_heads;
  spec.head_dim = local_.head_dim;
  spec.dtype = backend_.compute_dtype();
  spec.format = format;
  return spec;
}

void LlamaModel::reserve_activations(int64_t tokens) {
  if (tokens <= act_capacity_) return;
  ++activation_epoch_;  // recordings point into the buffers about to be replaced
  const ModelConfig& c = local_;
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
  act_.moe = make_moe_activations(backend_, c.moe, tokens);
  act_capacity_ = tokens;
}

void LlamaModel::check_step(const BatchInput& input, const KvCache& cache) const {
  const ModelConfig& c = local_;
  const KvCacheSpec& spec = cache.spec;
  if (spec.num_layers != c.num_layers || spec.num_kv_heads != c.num_kv_heads || spec.head_dim != c.head_dim)
    fail("KV cache geometry ({} layers, {} kv heads, head_dim {}) does not fit the model ({}, {}, {})", spec.num_layers,
         spec.num_kv_heads, spec.head_dim, c.num_layers, c.num_kv_heads, c.head_dim);
  const size_t other_ranks = group_ ? size_t(group_->size() - 1) : 0;
  if (cache.ranks.size() != other_ranks)
    fail("forward: the KV cache holds {} other ranks' caches, the model drives {} (LlamaModel::allocate_kv_cache)",
         cache.ranks.size(), other_ranks);
  for (int32_t id : input.token_ids)
    if (id < 0 || id >= config_.vocab_size)
      fail("token id {} is outside the vocabulary (0..{})", id, config_.vocab_size - 1);
  if (input.sequences.empty()) fail("forward: the batch has no sequences");
}

Tensor LlamaModel::forward(const BatchInput& input, KvCache& cache) {
  check_step(input, cache);
  if (!group_) return forward_rank(input, cache);
  Tensor logits;
  group_->run([&](int rank) {
    if (rank == 0)
      logits = forward_rank(input, cache);
    else
      group_->model(rank).forward_rank(input, cache.ranks[size_t(rank - 1)]);
  });
  return logits;
}

Tensor LlamaModel::forward_rank(const BatchInput& input, KvCache& cache) {
  BatchPlan plan = plan_batch(input, cache.spec.block_len, cache.spec.num_blocks, config_.sliding_window);
  if (layout_.size > 1)  // this rank's embedding rows; every other token reads the row of zeros at the end
    for (int32_t& id : plan.token_ids)
      id = id >= layout_.vocab_begin && id < layout_.vocab_end ? id - int32_t(layout_.vocab_begin)
                                                                : int32_t(layout_.vocab_size());
  reserve_activations(plan.num_tokens);
  const BatchMeta meta = backend_.upload_batch(plan);
  return run_step(plan, meta, cache, nullptr);
}

Tensor LlamaModel::run_step(const BatchPlan& plan, const BatchMeta& meta, KvCache& cache, const Tensor* logits_out) {
  const ModelConfig& c = local_;
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
  if (comm_) comm_->all_reduce_sum(residual.current);  // each rank looked up its own vocabulary rows
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& w = weights_.layers[l];
    // Pre-attention norm; from layer 1 on it also adds the previous MLP output to the residual.
    const PreNorm attn_norm{residual, l == 0 ? nullptr : &proj, w.attn_norm, eps, normed};
    const QkvRopeStore store{opt(w.q_norm), opt(w.k_norm), eps, rope, shape, cache, l, meta};
    backend_.norm_qkv_rope_store(attn_norm, w.qkv, opt(w.qkv_bias), qkv, store, q);
    backend_.attention(q, cache, l, meta, shape, attn);
    backend_.linear(attn, w.o_proj, opt(w.o_bias), proj);
    if (comm_) comm_->all_reduce_sum(proj);  // row-parallel: each rank's heads add their share
    if (w.moe.defined()) {  // a sparse layer (tensor parallelism excludes experts: shard_layout)
      backend_.add_rms_norm(residual.current, proj, w.mlp_norm, eps, normed);
      run_moe_mlp(backend_, c.moe, w.moe, normed, act_.moe, proj);
      continue;
    }
    backend_.norm_mlp(PreNorm{residual, &proj, w.mlp_norm, eps, normed}, w.gate_up, opt(w.gate_up_bias), w.down,
                      opt(w.down_bias), gate_up, mlp, proj);
    if (comm_) comm_->all_reduce_sum(proj);
  }
  backend_.add_rms_norm(residual.current, proj, weights_.final_norm, eps, normed);

  const int64_t R = int64_t(plan.logit_rows.size()), V = config_.vocab_size;
  if (R == 0) return backend_.empty(DType::F32, {0, V});  // no sequence wants logits
  Tensor last = backend_.empty(backend_.compute_dtype(), {R, int64_t(c.hidden_size)});
  backend_.gather_rows(normed, meta.logit_rows, last);
  Tensor logits = logits_out ? *logits_out : backend_.empty(DType::F32, {R, V});
  if (logits.dim(0) != R) fail("forward: the logits buffer has {} rows, the step {}", logits.dim(0), R);
  if (!comm_) {
    backend_.linear(last, weights_.lm_head, nullptr, logits);
    return logits;
  }
  // Vocabulary-parallel: each rank scores its rows, the gather puts the columns side by side.
  Tensor part = backend_.empty(DType::F32, {R, int64_t(c.vocab_size)});
  backend_.linear(last, weights_.lm_head, nullptr, part);
  comm_->all_gather(part, logits);
  return logits;
}

}  // namespace turbine
