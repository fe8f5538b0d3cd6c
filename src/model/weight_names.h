// Checkpoint tensor names per architecture (Hugging Face naming). The Llama family shares one
// scheme; an architecture with other names gets its own table here, not branches in the model.
#pragma once
#include <string>

#include "model/model_config.h"

namespace turbine {

struct LayerWeightNames {
  std::string attn_norm, q, k, v, o, q_bias, k_bias, v_bias, o_bias, q_norm, k_norm;
  std::string mlp_norm, gate, up, down, gate_bias, up_bias, down_bias;
};

struct WeightNames {
  std::string embed_tokens, final_norm, lm_head;
  LayerWeightNames layer(int index) const;
  std::string layer_prefix;  // "model.layers." (followed by the index and a '.')
};

// Throws Error for an architecture whose weights this loader cannot name.
WeightNames weight_names(Architecture arch);

}  // namespace turbine
