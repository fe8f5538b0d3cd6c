#include "model/weight_names.h"

#include "core/error.h"

namespace turbine {

namespace {

// InternLM2 (as InternLM2/2.5 ship on the hub): attention.wqkv packed per KV head, attention.wo,
// feed_forward.w1 (gate) / w3 (up) / w2 (down), attention_norm, ffn_norm.
LayerWeightNames internlm2_layer(const std::string& p) {
  LayerWeightNames n;
  n.attn_norm = p + "attention_norm.weight";
  n.mlp_norm = p + "ffn_norm.weight";
  n.qkv_packed = p + "attention.wqkv.weight";
  n.qkv_packed_bias = p + "attention.wqkv.bias";
  n.o = p + "attention.wo.weight";
  n.o_bias = p + "attention.wo.bias";
  n.gate = p + "feed_forward.w1.weight";
  n.up = p + "feed_forward.w3.weight";
  n.down = p + "feed_forward.w2.weight";
  return n;
}

}  // namespace

ExpertWeightNames LayerWeightNames::expert(int index) const {
  const std::string e = expert_prefix + std::to_string(index) + ".";
  return {e + expert_gate, e + expert_up, e + expert_down};
}

LayerWeightNames WeightNames::layer(int index) const {
  const std::string p = layer_prefix + std::to_string(index) + ".";
  if (arch == Architecture::InternLM2) return internlm2_layer(p);
  const std::string a = p + "self_attn.", m = p + "mlp.";
  LayerWeightNames n;
  n.attn_norm = p + "input_layernorm.weight";
  n.mlp_norm = p + "post_attention_layernorm.weight";
  n.q = a + "q_proj.weight";
  n.k = a + "k_proj.weight";
  n.v = a + "v_proj.weight";
  n.o = a + "o_proj.weight";
  n.q_bias = a + "q_proj.bias";
  n.k_bias = a + "k_proj.bias";
  n.v_bias = a + "v_proj.bias";
  n.o_bias = a + "o_proj.bias";
  n.q_norm = a + "q_norm.weight";
  n.k_norm = a + "k_norm.weight";
  n.gate = m + "gate_proj.weight";
  n.up = m + "up_proj.weight";
  n.down = m + "down_proj.weight";
  n.gate_bias = m + "gate_proj.bias";
  n.up_bias = m + "up_proj.bias";
  n.down_bias = m + "down_proj.bias";
  if (arch == Architecture::Mixtral) {
    n.router = p + "block_sparse_moe.gate.weight";
    n.expert_prefix = p + "block_sparse_moe.experts.";
    n.expert_gate = "w1.weight";
    n.expert_up = "w3.weight";
    n.expert_down = "w2.weight";
  } else if (arch == Architecture::Qwen3Moe) {
    n.router = m + "gate.weight";
    n.expert_prefix = m + "experts.";
    n.expert_gate = "gate_proj.weight";
    n.expert_up = "up_proj.weight";
    n.expert_down = "down_proj.weight";
  }
  return n;
}

WeightNames weight_names(Architecture arch) {
  switch (arch) {
    case Architecture::Llama:
    case Architecture::Mistral:
    case Architecture::Qwen2:
    case Architecture::Qwen3:
    case Architecture::Mixtral:
    case Architecture::Qwen3Moe:
      return WeightNames{"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "model.layers.", arch};
    case Architecture::InternLM2:
      return WeightNames{"model.tok_embeddings.weight", "model.norm.weight", "output.weight", "model.layers.", arch};
  }
  fail("weights of this architecture are not supported");
}

}  // namespace turbine
