// config.json -> ModelConfig. Accepts both generations of key names:
//   older: torch_dtype, rope_theta, rope_scaling {type|rope_type, factor, ...}
//   newer: dtype, rope_parameters {rope_type, rope_theta, factor, ...}
#include "model/model_config.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"

namespace turbine {
namespace {

using nlohmann::json;

struct ConfigReader {
  const json& j;
  std::string file;

  bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }

  int positive_int(const char* key) const {
    if (!has(key)) fail("{}: missing field '{}'", file, key);
    return positive_int_value(j[key], key);
  }
  int positive_int_or(const char* key, int fallback) const {
    return has(key) ? positive_int_value(j[key], key) : fallback;
  }
  int positive_int_value(const json& v, const std::string& key) const {
    // 2^30 bounds every size so that products of two of them stay within int64.
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (int64_t(1) << 30))
      fail("{}: field '{}' must be a whole number from 1 to 1073741824 (2^30), got {}", file, key, v.dump());
    return int(v.get<int64_t>());
  }
  double number_or(const json& obj, const char* key, double fallback, const std::string& where) const {
    if (!obj.contains(key) || obj[key].is_null()) return fallback;
    if (!obj[key].is_number()) fail("{}: field '{}{}' must be a number, got {}", file, where, key, obj[key].dump());
    return obj[key].get<double>();
  }
  bool bool_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_boolean()) fail("{}: field '{}' must be true or false, got {}", file, key, j[key].dump());
    return j[key].get<bool>();
  }
  std::vector<int> int_list(const char* key) const {
    std::vector<int> out;
    if (!has(key)) return out;
    const json& v = j[key];
    auto one = [&](const json& x) {
      if (!x.is_number_integer() || x.get<int64_t>() < 0)
        fail("{}: field '{}' must hold token ids, got {}", file, key, v.dump());
      out.push_back(int(x.get<int64_t>()));
    };
    if (v.is_array())
      for (const auto& x : v) one(x);
    else
      one(v);
    return out;
  }
};

Architecture parse_architecture(const ConfigReader& r, std::string& name) {
  if (!r.has("architectures") || !r.j["architectures"].is_array() || r.j["architectures"].empty() ||
      !r.j["architectures"][0].is_string())
    fail("{}: missing field 'architectures'", r.file);
  name = r.j["architectures"][0].get<std::string>();
  if (name == "LlamaForCausalLM") return Architecture::Llama;
  if (name == "MistralForCausalLM") return Architecture::Mistral;
  if (name == "Qwen2ForCausalLM") return Architecture::Qwen2;
  if (name == "Qwen3ForCausalLM") return Architecture::Qwen3;
  if (name == "InternLM2ForCausalLM") return Architecture::InternLM2;
  if (name == "MixtralForCausalLM") return Architecture::Mixtral;
  if (name == "Qwen3MoeForCausalLM") return Architecture::Qwen3Moe;
  fail(
      "{}: unknown architecture '{}' in field 'architectures' (supported: LlamaForCausalLM, MistralForCausalLM, "
      "Qwen2ForCausalLM, Qwen3ForCausalLM, InternLM2ForCausalLM, MixtralForCausalLM, Qwen3MoeForCausalLM)",
      r.file, name);
}

RopeConfig parse_rope(const ConfigReader& r) {
  RopeConfig rope;
  // Newer files put everything in rope_parameters; older ones use rope_theta + rope_scaling.
  const bool new_style = r.has("rope_parameters");
  const char* field = new_style ? "rope_parameters" : "rope_scaling";
  json params = json::object();
  if (r.has(field)) {
    params = r.j[field];
    if (!params.is_object()) fail("{}: field '{}' must be an object", r.file, field);
  }
  const std::string where = std::string(field) + ".";
  rope.theta = r.number_or(params, "rope_theta", r.number_or(r.j, "rope_theta", 10000.0, ""), where);
  if (rope.theta <= 0) fail("{}: field 'rope_theta' must be positive", r.file);
  std::string type = "default";
  for (const char* key : {"rope_type", "type"}) {
    if (params.contains(key) && !params[key].is_null()) {
      if (!params[key].is_string()) fail("{}: field '{}{}' must be a string", r.file, where, key);
      type = params[key].get<std::string>();
      break;
    }
  }
  rope.factor = r.number_or(params, "factor", 1.0, where);
  rope.partial_rotary_factor =
      r.number_or(params, "partial_rotary_factor", r.number_or(r.j, "partial_rotary_factor", 1.0, ""), where);
  if (rope.partial_rotary_factor <= 0 || rope.partial_rotary_factor > 1)
    fail("{}: field 'partial_rotary_factor' must be in (0, 1]", r.file);
  if (type == "default") {
    rope.type = RopeType::Default;
  } else if (type == "linear") {
    rope.type = RopeType::Linear;
  } else if (type == "dynamic") {
    rope.type = RopeType::DynamicNtk;
  } else if (type == "llama3") {
    rope.type = RopeType::Llama3;
    rope.low_freq_factor = r.number_or(params, "low_freq_factor", 1.0, where);
    rope.high_freq_factor = r.number_or(params, "high_freq_factor", 4.0, where);
    const double orig = r.number_or(params, "original_max_position_embeddings", 8192, where);
    if (orig <= 0) fail("{}: field '{}original_max_position_embeddings' must be positive", r.file, where);
    rope.original_max_position = int(orig);
    if (rope.high_freq_factor <= rope.low_freq_factor)
      fail("{}: field '{}high_freq_factor' must exceed low_freq_factor", r.file, where);
  } else {
    fail("{}: unsupported rope type '{}' in field '{}' (supported: default, linear, dynamic, llama3)", r.file, type,
         field);
  }
  if (rope.type != RopeType::Default && rope.factor <= 0) fail("{}: field '{}factor' must be positive", r.file, where);
  return rope;
}

// quantization_config of an AutoAWQ GEMM checkpoint -> its group size; 0 when there is none. Every
// other quantization (GPTQ, bits other than 4, the GEMV/Marlin layouts, no zero points) is an Error.
int parse_awq_group_size(const ConfigReader& r) {
  if (!r.has("quantization_config")) return 0;
  const json& q = r.j["quantization_config"];
  const std::string where = "quantization_config.";
  if (!q.is_object()) fail("{}: field 'quantization_config' must be an object", r.file);
  auto text = [&](const char* key, const char* fallback) {
    if (!q.contains(key) || q[key].is_null()) return std::string(fallback);
    if (!q[key].is_string()) fail("{}: field '{}{}' must be a string, got {}", r.file, where, key, q[key].dump());
    return q[key].get<std::string>();
  };
  const std::string method = text("quant_method", "");
  if (method != "awq")
    fail("{}: field '{}quant_method' is '{}'; turbine reads AWQ 4-bit checkpoints only (quant_method awq)", r.file,
         where, method);
  std::string version = text("version", "gemm");
  for (char& ch : version) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  if (version != "gemm")
    fail("{}: field '{}version' is '{}'; turbine reads AutoAWQ's GEMM layout only (version gemm)", r.file, where,
         version);
  const json bits = q.contains("bits") ? q["bits"] : q.value("w_bit", json(4));
  if (!bits.is_number_integer() || bits.get<int64_t>() != 4)
    fail("{}: field '{}bits' is {}; only 4-bit AWQ is supported", r.file, where, bits.dump());
  const json zero = q.contains("zero_point") ? q["zero_point"] : json(true);
  if (!zero.is_boolean() || !zero.get<bool>())
    fail("{}: field '{}zero_point' is {}; only AWQ with zero points is supported", r.file, where, zero.dump());
  const json group = q.contains("group_size") ? q["group_size"] : q.value("q_group_size", json());
  if (!group.is_number_integer() || group.get<int64_t>() <= 0 || group.get<int64_t>() > (int64_t(1) << 20))
    fail("{}: field '{}group_size' must be a positive whole number, got {}", r.file, where, group.dump());
  return int(group.get<int64_t>());
}

// The experts of Mixtral (num_local_experts of intermediate_size, top-k weights renormalized) and
// Qwen3-MoE (num_experts of moe_intermediate_size, norm_topk_prob, dense mlp_only_layers).
MoeConfig parse_moe(const ConfigReader& r, Architecture arch, int intermediate_size, int num_layers) {
  MoeConfig m;
  if (arch != Architecture::Mixtral && arch != Architecture::Qwen3Moe) return m;
  const char* experts_key = r.has("num_experts") ? "num_experts" : "num_local_experts";
  m.num_experts = r.positive_int(experts_key);
  m.experts_per_token = r.positive_int("num_experts_per_tok");
  if (m.experts_per_token > m.num_experts)
    fail("{}: num_experts_per_tok ({}) exceeds the number of experts ({})", r.file, m.experts_per_token,
         m.num_experts);
  if (arch == Architecture::Mixtral) {
    m.expert_intermediate_size = intermediate_size;
    m.normalize_top_k = true;
    return m;
  }
  m.expert_intermediate_size = r.positive_int("moe_intermediate_size");
  m.normalize_top_k = r.bool_or("norm_topk_prob", false);
  m.sparse_step = r.positive_int_or("decoder_sparse_step", 1);
  m.dense_layers = r.int_list("mlp_only_layers");
  for (int l : m.dense_layers)
    if (l >= num_layers) fail("{}: mlp_only_layers names layer {}, the model has {}", r.file, l, num_layers);
  return m;
}

}  // namespace

bool ModelConfig::is_moe_layer(int layer) const {
  if (moe.num_experts == 0 || (layer + 1) % moe.sparse_step != 0) return false;
  for (int l : moe.dense_layers)
    if (l == layer) return false;
  return true;
}

ModelConfig load_model_config(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "config.json";
  if (!std::filesystem::exists(path)) fail("{}: missing (is this a Hugging Face model folder?)", path.string());
  json j;
  try {
    j = json::parse(read_text_file(path));
  } catch (const json::exception& e) {
    fail("{}: malformed JSON: {}", path.string(), e.what());
  }
  if (!j.is_object()) fail("{}: not a JSON object", path.string());
  const ConfigReader r{j, path.string()};

  ModelConfig c;
  c.arch = parse_architecture(r, c.architecture_name);
  c.hidden_size = r.positive_int("hidden_size");
  c.intermediate_size = r.positive_int("intermediate_size");
  c.num_layers = r.positive_int("num_hidden_layers");
  c.num_heads = r.positive_int("num_attention_heads");
  c.num_kv_heads = r.positive_int_or("num_key_value_heads", c.num_heads);
  if (c.num_heads % c.num_kv_heads != 0)
    fail("{}: num_attention_heads ({}) is not a multiple of num_key_value_heads ({})", r.file, c.num_heads,
         c.num_kv_heads);
  if (!r.has("head_dim") && c.hidden_size % c.num_heads != 0)
    fail("{}: hidden_size ({}) is not a multiple of num_attention_heads ({})", r.file, c.hidden_size, c.num_heads);
  c.head_dim = r.positive_int_or("head_dim", c.hidden_size / c.num_heads);
  if (c.head_dim % 2 != 0) fail("{}: field 'head_dim' must be even, got {}", r.file, c.head_dim);
  c.vocab_size = r.positive_int("vocab_size");
  c.max_position_embeddings = r.positive_int_or("max_position_embeddings", 2048);
  c.rms_norm_eps = r.number_or(j, "rms_norm_eps", 1e-6, "");
  if (c.rms_norm_eps <= 0) fail("{}: field 'rms_norm_eps' must be positive", r.file);
  if (r.has("hidden_act") && j["hidden_act"] != "silu")
    fail("{}: field 'hidden_act' is {}; only silu is supported", r.file, j["hidden_act"].dump());
  c.rope = parse_rope(r);
  const int rotary = int(c.head_dim * c.rope.partial_rotary_factor);
  if (rotary < 2 || rotary % 2 != 0) fail("{}: partial_rotary_factor gives an odd rotary dimension", r.file);

  c.tie_word_embeddings = r.bool_or("tie_word_embeddings", c.arch == Architecture::Qwen2);
  // InternLM2 spells attention_bias `bias` (wqkv and wo).
  const bool attention_bias = r.bool_or(c.arch == Architecture::InternLM2 ? "bias" : "attention_bias", false);
  c.qkv_bias = attention_bias || c.arch == Architecture::Qwen2;
  c.o_bias = attention_bias && c.arch != Architecture::Qwen2;
  c.mlp_bias = r.bool_or("mlp_bias", false);
  c.qk_norm = c.arch == Architecture::Qwen3 || c.arch == Architecture::Qwen3Moe;
  c.moe = parse_moe(r, c.arch, c.intermediate_size, c.num_layers);
  if (c.arch == Architecture::Mistral || c.arch == Architecture::Mixtral) {
    c.sliding_window = r.positive_int_or("sliding_window", 0);
  } else if (r.bool_or("use_sliding_window", false)) {
    fail("{}: field 'use_sliding_window' is true; sliding windows are supported for Mistral and Mixtral only", r.file);
  }

  std::string dtype = "float32";  // transformers' default when a config names none
  for (const char* key : {"dtype", "torch_dtype"}) {
    if (r.has(key)) {
      if (!j[key].is_string()) fail("{}: field '{}' must be a string", r.file, key);
      dtype = j[key].get<std::string>();
      break;
    }
  }
  try {
    c.dtype = parse_dtype(dtype);
  } catch (const Error&) {
    fail("{}: field 'dtype' is '{}'; supported: float32, float16, bfloat16", r.file, dtype);
  }
  c.awq_group_size = parse_awq_group_size(r);
  const auto bos = r.int_list("bos_token_id");
  c.bos_token_id = bos.empty() ? -1 : bos[0];
  c.eos_token_ids = r.int_list("eos_token_id");
  for (int id : c.eos_token_ids)
    if (id >= c.vocab_size) fail("{}: eos_token_id {} is outside the vocabulary ({})", r.file, id, c.vocab_size);
  return c;
}

}  // namespace turbine
