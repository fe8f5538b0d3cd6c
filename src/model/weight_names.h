// Checkpoint tensor names per architecture (Hugging Face naming). The Llama family shares one
// scheme; an architecture with other names gets its own table here, not branches in the model.
#pragma once
#include <string>

#include "model/model_config.h"

namespace turbine {

struct ExpertWeightNames {
  std::string gate, up, down;
};

struct LayerWeightNames {
  std::string attn_norm, q, k, v, o, q_bias, k_bias, v_bias, o_bias, q_norm, k_norm;
  std::string mlp_norm, gate, up, down, gate_bias, up_bias, down_bias;
  // InternLM2: q, k and v in one tensor packed per KV head (empty where q, k, v are apart).
  std::string qkv_packed, qkv_packed_bias;
  // Mixture of experts: the router [E, H] and each expert's SwiGLU projections.
  std::string router;
  ExpertWeightNames expert(int index) const;

  std::string expert_prefix;                        // "...mlp.experts." (followed by the index and a '.')
  std::string expert_gate, expert_up, expert_down;  // after the index: "gate_proj.weight", ...
};

struct WeightNames {
  std::string embed_tokens, final_norm, lm_head;
  LayerWeightNames layer(int index) const;
  std::string layer_prefix;  // "model.layers." (followed by the index and a '.')
  Architecture arch = Architecture::Llama;
};

// Throws Error for an architecture whose weights this loader cannot name.
WeightNames weight_names(Architecture arch);

}  // namespace turbine
