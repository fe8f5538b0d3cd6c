// The Llama-family decoder (Llama, Mistral, Qwen2, Qwen3, ...) as a straight list of backend op
// calls over a BatchInput. Architecture differences are flags in ModelConfig plus weight names.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "backend/backend.h"
#include "model/checkpoint.h"
#include "model/decode_graph_batch.h"
#include "model/model_config.h"

namespace turbine {

struct LayerWeights {
  Tensor attn_norm, qkv, qkv_bias, o_proj, o_bias, q_norm, k_norm;  // qkv fused [(Hq+2Hkv)D, H]
  Tensor mlp_norm, gate_up, gate_up_bias, down, down_bias;         // gate_up fused [2I, H]
};

struct ModelWeights {
  Tensor embed_tokens;  // [V, H]
  std::vector<LayerWeights> layers;
  Tensor final_norm;
  Tensor lm_head;       // [V, H]; the embedding itself when tied
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

  // One step. Returns logits [rows, vocab] in fp32 on the backend's device, one row per
  // entry of plan.logit_rows (the last new token of each sequence that wants logits, or all
  // of them where SequenceInput::all_logits is set); rows may be 0.
  // Pure decode steps run as recorded graphs where the backend has them (one per bucket of batch
  // size and block-table width; the first step of a bucket runs op by op and records it).
  Tensor forward(const BatchInput& input, KvCache& cache);

  // Decode steps served by replaying a recorded graph, and graphs recorded (for tests and stats).
  uint64_t graph_replays() const { return graph_replays_; }
  size_t graphs_recorded() const { return graphs_.size(); }

 private:
  // Scratch activations for up to act_capacity_ tokens, reused across steps (views of the first T rows).
  struct Activations {
    Tensor residual, residual_spare, normed, qkv, q, attn, proj, gate_up, mlp;  // residual_spare: see ResidualStream
  };
  void reserve_activations(int64_t tokens);
  // Every op of one step over the uploaded plan; writes logits into `logits` when given (graphs
  // keep one output buffer), else into a new tensor.
  Tensor run_layers(const BatchPlan& plan, const BatchMeta& meta, KvCache& cache, const Tensor* logits);
  // forward() for a step that decode_graph_key accepted.
  Tensor forward_decode_graph(const BatchInput& input, const DecodeGraphKey& key, KvCache& cache);

  struct DecodeGraph {
    BatchPlan plan;  // the recorded step's plan (meta.plan points here until the next upload)
    BatchMeta meta;  // device arrays the graph reads; each replay refills them
    std::unique_ptr<StepGraph> graph;
  };
  // Graphs bake in buffer addresses and the cache geometry: keyed by both.
  using GraphKey = std::tuple<DecodeGraphKey, const void*, int, int>;  // bucket, cache data, blocks, block_len

  ModelConfig config_;
  Backend& backend_;
  ModelWeights weights_;
  RopeTable fixed_rope_;  // every rope type but dynamic NTK (which depends on the step's length)
  Activations act_;
  int64_t act_capacity_ = 0;
  std::map<GraphKey, std::unique_ptr<DecodeGraph>> graphs_;
  Tensor graph_logits_;  // [rows, vocab] fp32, shared by all graphs (one runs at a time)
  bool graphs_unsupported_ = false;  // the backend recorded nothing once: stop asking
  uint64_t graph_replays_ = 0;
};

}  // namespace turbine
