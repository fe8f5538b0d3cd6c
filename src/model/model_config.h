// Model attributes read from a Hugging Face config.json (older and newer key spellings).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace turbine {

// The families the loader knows. Each differs only in flags and weight names (see weight_names.h).
enum class Architecture { Llama, Mistral, Qwen2, Qwen3, InternLM2, Mixtral, Qwen3Moe };

enum class RopeType { Default, Linear, DynamicNtk, Llama3 };

struct RopeConfig {
  RopeType type = RopeType::Default;
  double theta = 10000.0;
  double factor = 1.0;                 // linear / dynamic / llama3
  double low_freq_factor = 1.0;        // llama3
  double high_freq_factor = 4.0;       // llama3
  int original_max_position = 8192;    // llama3 (original_max_position_embeddings)
  double partial_rotary_factor = 1.0;  // fraction of head_dim that rotates
};

// Mixture of experts (Mixtral, Qwen3-MoE): a sparse layer's MLP is a router (linear H -> E, softmax)
// picking experts_per_token SwiGLU experts of expert_intermediate_size per token, their outputs
// summed with the routing weights.
struct MoeConfig {
  int num_experts = 0;
  int experts_per_token = 0;
  int expert_intermediate_size = 0;
  bool normalize_top_k = false;  // rescale the k chosen softmax weights to sum to 1 (Mixtral always)
  int sparse_step = 1;           // Qwen3-MoE decoder_sparse_step: layer l sparse when (l + 1) % step == 0
  std::vector<int> dense_layers;  // Qwen3-MoE mlp_only_layers
};

struct ModelConfig {
  std::string architecture_name;  // as written in config.json, e.g. "LlamaForCausalLM"
  Architecture arch = Architecture::Llama;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;  // may differ from hidden/heads (Qwen3)
  int vocab_size = 0;
  int max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Llama attention_bias, Qwen2 (always)
  bool o_bias = false;    // Llama attention_bias
  bool mlp_bias = false;
  bool qk_norm = false;       // Qwen3 per-head q/k RMSNorm
  int sliding_window = 0;     // 0 = none (Mistral: 4096 etc.)
  MoeConfig moe;              // num_experts 0: every layer dense
  DType dtype = DType::BF16;  // checkpoint dtype (torch_dtype / dtype)
  // AWQ 4-bit checkpoint (quantization_config: quant_method awq, version gemm, bits 4, zero_point):
  // its group size; 0 for a 16/32-bit checkpoint (model/awq_format.h).
  int awq_group_size = 0;
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;

  // Whether layer `layer`'s MLP is the mixture of experts (else the dense SwiGLU of intermediate_size).
  bool is_moe_layer(int layer) const;
};

// Parses <dir>/config.json; throws Error naming the file and field on anything missing or wrong.
ModelConfig load_model_config(const std::filesystem::path& model_dir);

}  // namespace turbine
