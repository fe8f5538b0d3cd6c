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

namespace turbine {

// The projections are LinearWeights: dense, or 4-bit in an AWQ checkpoint.
struct LayerWeights {
  Tensor attn_norm, qkv_bias, o_bias, q_norm, k_norm;
  LinearWeight qkv, o_proj;  // qkv fused [(Hq+2Hkv)D, H]
  Tensor mlp_norm, gate_up_bias, down_bias;
  LinearWeight gate_up, down;  // gate_up fused [2I, H]
  MoeLayerWeights moe;         // defined in a sparse layer, whose MLP it replaces
};

struct ModelWeights {
  Tensor embed_tokens;  // [V, H]
  std::vector<LayerWeights> layers;
  Tensor final_norm;
  Tensor lm_head;  // [V, H]; the embedding itself when tied
};

// progress(done_bytes, total_bytes) is called while weights upload (for a progress bar).
using LoadProgress = std::function<void(size_t, size_t)>;

class LlamaModel {
 public:
  // Checks every tensor's presence and shape against the config (Error names the tensor).
  LlamaModel(const ModelConfig& config, const Checkpoint& checkpoint, Backend& backend,
             const LoadProgress& progress = {});

  const ModelConfig& config() const { return config_; }
  Backend& backend() const { return backend_; }
  // KV cache geometry for this model with the given number of blocks.
  KvCacheSpec kv_cache_spec(int num_blocks, int block_len) const;

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
  bool replayable() const { return config_.rope.type != RopeType::DynamicNtk; }
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

  ModelConfig config_;
  Backend& backend_;
  ModelWeights weights_;
  RopeTable fixed_rope_;  // every rope type but dynamic NTK (which depends on the step's length)
  Activations act_;
  int64_t act_capacity_ = 0;
  uint64_t activation_epoch_ = 0;
};

}  // namespace turbine
