// The Llama-family decoder (Llama, Mistral, Qwen2, Qwen3, InternLM2, and with experts Mixtral and
// Qwen3-MoE) as a straight list of backend op calls over a BatchInput. Architecture differences are
// flags in ModelConfig plus weight names; a sparse layer runs model/moe_mlp in place of the MLP.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "backend/backend.h"
#include "backend/batch_input.h"
#include "model/checkpoint.h"
#include "model/model_config.h"
#include "model/moe_mlp.h"
#include "model/rank_weights.h"
#include "model/shard_layout.h"

namespace turbine {

class Communicator;
class TensorParallelGroup;

// The projections are LinearWeights: dense, or 4-bit in an AWQ checkpoint.
struct LayerWeights {
  Tensor attn_norm, qkv_bias, o_bias, q_norm, k_norm;
  LinearWeight qkv, o_proj;  // qkv fused [(Hq+2Hkv)D, H]
  Tensor mlp_norm, gate_up_bias, down_bias;
  LinearWeight gate_up, down;  // gate_up fused [2I, H]
  MoeLayerWeights moe;  // defined in a sparse layer, whose MLP it replaces
};

struct ModelWeights {
  Tensor embed_tokens;  // [V, H]
  std::vector<LayerWeights> layers;
  Tensor final_norm;
  LinearWeight lm_head;  // [V, H]; the embedding itself when tied, until quantize_lm_head
};

// progress(done_bytes, total_bytes) is called while weights upload (for a progress bar).
using LoadProgress = std::function<void(size_t, size_t)>;

class LlamaModel {
 public:
  // Checks every tensor's presence and shape against the config (Error names the tensor).
  LlamaModel(const ModelConfig& config, const Checkpoint& checkpoint, Backend& backend,
             const LoadProgress& progress = {});
  // One rank of a tensor-parallel model: the part `layout` names, read from `weights`. With a
  // communicator the forward all-reduces after o_proj and down and all-gathers the logits (even
  // across one rank); without one it is the single-device model.
  LlamaModel(const ModelConfig& config, const RankWeightSource& weights, Backend& backend, const ShardLayout& layout,
             Communicator* comm, const LoadProgress& progress = {});
  ~LlamaModel();

  // Makes this model (rank 0) drive the other ranks of `group` (built by load_tensor_parallel_model):
  // forward() then runs every rank's share at once on its KV cache of allocate_kv_cache().
  void drive(std::unique_ptr<TensorParallelGroup> group);
  // Replaces the lm_head (on every rank this model drives) by its 4-bit groups, rounded to nearest
  // (--lm-head-quant int4): the groups are 128 columns where the hidden size allows, else the widest
  // power of two from 32 that divides it (Error when none does). A tied embedding keeps its rows for
  // the lookup. Called once, after loading and before any step.
  void quantize_lm_head();
  int tensor_parallel() const { return layout_.size; }

  // The whole model's config (the ranks' shapes are in shard_config(config(), layout)).
  const ModelConfig& config() const { return config_; }
  Backend& backend() const { return backend_; }
  // KV cache geometry of this rank with the given number of blocks.
  KvCacheSpec kv_cache_spec(int num_blocks, int block_len, KvFormat format = KvFormat::Dense) const;
  // A zeroed KV cache for every rank this model drives (the other ranks' in KvCache::ranks).
  KvCache allocate_kv_cache(int num_blocks, int block_len, KvFormat format = KvFormat::Dense);
  // Bytes one KV block takes out of rank 0's backend's free_memory(): on cpu every rank's share
  // (the ranks share the machine's memory), on cuda rank 0's own (each rank has its device).
  size_t kv_block_bytes(int block_len, KvFormat format = KvFormat::Dense) const;

  // One step, op by op. Returns logits [rows, vocab] in fp32 on the backend's device, one row per
  // entry of plan.logit_rows (the last new token of each sequence that wants logits, or all
  // of them where SequenceInput::all_logits is set); rows may be 0. Recorded replays of decode
  // steps are the engine's business (engine/decode_graphs.h), built on the calls below.
  Tensor forward(const BatchInput& input, KvCache& cache);

  // The parts of forward() for a caller that plans, uploads and records steps itself:
  // Error when the step does not fit the model or the cache (bad ids, an empty batch).
  void check_step(const BatchInput& input, const KvCache& cache) const;
  // Whether a step's ops depend on its shapes alone, so that a recording can be replayed
  // (dynamic NTK rope rebuilds its table from each step's length: not replayable).
  // Tensor-parallel steps are not recorded (their collectives run outside the backend's ops).
  bool replayable() const { return config_.rope.type != RopeType::DynamicNtk && comm_ == nullptr; }
  // Scratch activations for at least `tokens` tokens. Growing them moves the buffers: every
  // recording made before then is stale, which activation_epoch() tells (it changes).
  void reserve_activations(int64_t tokens);
  uint64_t activation_epoch() const { return activation_epoch_; }
  // Every op of one step over an uploaded plan (activations reserved for plan.num_tokens);
  // writes the logits into `logits_out` when given (a recording keeps one output buffer).
  Tensor run_step(const BatchPlan& plan, const BatchMeta& meta, KvCache& cache, const Tensor* logits_out);

 private:
  // Scratch activations for up to act_capacity_ tokens, reused across steps (views of the first T rows).
  struct Activations {
    Tensor residual, residual_spare, normed, qkv, q, attn, proj, gate_up, mlp;  // residual_spare: see ResidualStream
    MoeActivations moe;
  };

  // This rank's share of a step (forward() on one rank).
  Tensor forward_rank(const BatchInput& input, KvCache& cache);

  ModelConfig config_;
  ModelConfig local_;  // this rank's heads, intermediate size and vocabulary rows
  ShardLayout layout_;
  Communicator* comm_ = nullptr;
  std::unique_ptr<TensorParallelGroup> group_;  // ranks 1.. when this is rank 0 of several
  Backend& backend_;
  ModelWeights weights_;
  RopeTable fixed_rope_;  // every rope type but dynamic NTK (which depends on the step's length)
  Activations act_;
  int64_t act_capacity_ = 0;
  uint64_t activation_epoch_ = 0;
};

}  // namespace turbine
