#include "model/weight_names.h"

#include "core/error.h"

namespace turbine {

LayerWeightNames WeightNames::layer(int index) const {
  const std::string p = layer_prefix + std::to_string(index) + ".";
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
  return n;
}

WeightNames weight_names(Architecture arch) {
  switch (arch) {
    case Architecture::Llama:
    case Architecture::Mistral:
    case Architecture::Qwen2:
    case Architecture::Qwen3:
      return WeightNames{"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "model.layers."};
    case Architecture::InternLM2: break;
  }
  fail("weights of this architecture (InternLM2) are not supported yet");
}

}  // namespace turbine
