// config.json parsing: both generations of keys, every rope type, and clear errors.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/generation_config.h"
#include "model/model_config.h"
#include "model/packed_qkv.h"
#include "support/safetensors_writer.h"
#include "support/test_paths.h"

using namespace turbine;
using namespace turbine::test;
using nlohmann::json;

namespace {

json base_config() {
  return json::parse(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 256, "intermediate_size": 768,
    "num_hidden_layers": 8, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 32000,
    "max_position_embeddings": 2048, "rms_norm_eps": 1e-05, "hidden_act": "silu"})");
}

ModelConfig parse(const json& j) {
  auto dir = temp_dir("cfg");
  std::ofstream(dir / "config.json") << j.dump();
  return load_model_config(dir);
}

std::string error_of(const json& j) {
  try {
    parse(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ModelConfig, ParsesTheBundledModel) {
  auto c = load_model_config(default_model_dir());
  EXPECT_EQ(c.arch, Architecture::Llama);
  EXPECT_EQ(c.hidden_size, 256);
  EXPECT_EQ(c.num_layers, 8);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.dtype, DType::BF16);
  EXPECT_EQ(c.rope.type, RopeType::Default);
  EXPECT_DOUBLE_EQ(c.rope.theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
}

TEST(ModelConfig, ParsesOtherArchitectures) {
  auto qwen3 = load_model_config(shared_dir() / "models" / "qwen3-tiny");
  EXPECT_EQ(qwen3.arch, Architecture::Qwen3);
  EXPECT_TRUE(qwen3.qk_norm);
  EXPECT_EQ(qwen3.head_dim, 128);
  EXPECT_TRUE(qwen3.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(qwen3.rope.theta, 1e6);
  auto qwen2 = load_model_config(shared_dir() / "models" / "qwen2-tiny");
  EXPECT_TRUE(qwen2.qkv_bias);
  EXPECT_FALSE(qwen2.o_bias);
  auto mistral = load_model_config(shared_dir() / "models" / "mistral-tiny");
  EXPECT_EQ(mistral.sliding_window, 64);
}

TEST(ModelConfig, AcceptsOlderKeys) {
  auto j = base_config();
  j["torch_dtype"] = "float16";
  j["rope_theta"] = 500000.0;
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  j["attention_bias"] = true;
  j["tie_word_embeddings"] = true;
  j["eos_token_id"] = {2, 7};
  auto c = parse(j);
  EXPECT_EQ(c.dtype, DType::F16);
  EXPECT_DOUBLE_EQ(c.rope.theta, 500000.0);
  EXPECT_EQ(c.rope.type, RopeType::Linear);
  EXPECT_DOUBLE_EQ(c.rope.factor, 2.0);
  EXPECT_TRUE(c.qkv_bias && c.o_bias && c.tie_word_embeddings);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{2, 7}));
  j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 4.0}};
  EXPECT_EQ(parse(j).rope.type, RopeType::DynamicNtk);
}

TEST(ModelConfig, AcceptsNewerKeys) {
  auto j = base_config();
  j["dtype"] = "float32";
  j["rope_parameters"] = {{"rope_type", "llama3"},   {"rope_theta", 500000.0},
                          {"factor", 8.0},           {"low_freq_factor", 1.0},
                          {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  auto c = parse(j);
  EXPECT_EQ(c.dtype, DType::F32);
  EXPECT_EQ(c.rope.type, RopeType::Llama3);
  EXPECT_DOUBLE_EQ(c.rope.factor, 8.0);
  EXPECT_EQ(c.rope.original_max_position, 8192);
  EXPECT_DOUBLE_EQ(c.rope.theta, 500000.0);
}

TEST(ModelConfig, ErrorsNameTheFieldAndFile) {
  auto j = base_config();
  j.erase("hidden_size");
  EXPECT_NE(error_of(j).find("'hidden_size'"), std::string::npos);
  EXPECT_NE(error_of(j).find("config.json"), std::string::npos);
  j = base_config();
  j["num_attention_heads"] = "four";
  EXPECT_NE(error_of(j).find("'num_attention_heads'"), std::string::npos);
  j = base_config();
  j["num_key_value_heads"] = 3;
  EXPECT_NE(error_of(j).find("num_key_value_heads"), std::string::npos);
  j = base_config();
  j["architectures"] = {"GPT2LMHeadModel"};
  EXPECT_NE(error_of(j).find("unknown architecture 'GPT2LMHeadModel'"), std::string::npos);
  j = base_config();
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}};
  EXPECT_NE(error_of(j).find("rope type 'yarn'"), std::string::npos);
  j = base_config();
  j["torch_dtype"] = "int8";
  EXPECT_NE(error_of(j).find("'dtype'"), std::string::npos);
  j = base_config();
  j["hidden_act"] = "gelu";
  EXPECT_NE(error_of(j).find("hidden_act"), std::string::npos);
  j = base_config();
  j["eos_token_id"] = 99999;
  EXPECT_NE(error_of(j).find("eos_token_id"), std::string::npos);
}

TEST(ModelConfig, MissingOrCorruptFile) {
  auto dir = temp_dir("cfgbad");
  EXPECT_THROW(load_model_config(dir), Error);
  std::ofstream(dir / "config.json") << "{\"hidden_size\": ";
  try {
    load_model_config(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos);
  }
}

TEST(GenerationConfig, ReadsEosAndSampling) {
  auto g = load_generation_config(default_model_dir());
  EXPECT_EQ(g.eos_token_ids, std::vector<int>{2});
  EXPECT_FALSE(g.do_sample);
  auto dir = temp_dir("gen");
  std::ofstream(dir / "generation_config.json")
      << R"({"eos_token_id": [128001, 128009], "do_sample": true, "temperature": 0.6, "top_p": 0.9})";
  g = load_generation_config(dir);
  EXPECT_EQ(g.eos_token_ids, (std::vector<int>{128001, 128009}));
  EXPECT_TRUE(g.do_sample);
  EXPECT_DOUBLE_EQ(*g.temperature, 0.6);
  EXPECT_FALSE(g.top_k.has_value());
  std::ofstream(dir / "generation_config.json") << R"({"temperature": "hot"})";
  EXPECT_THROW(load_generation_config(dir), Error);
  EXPECT_NO_THROW(load_generation_config(temp_dir("nogen")));
}

TEST(ModelConfig, ParsesMixtureOfExperts) {
  const auto mixtral = load_model_config(shared_dir() / "models" / "mixtral-tiny");
  EXPECT_EQ(mixtral.arch, Architecture::Mixtral);
  EXPECT_EQ(mixtral.moe.num_experts, 4);
  EXPECT_EQ(mixtral.moe.experts_per_token, 2);
  EXPECT_EQ(mixtral.moe.expert_intermediate_size, 384);
  EXPECT_TRUE(mixtral.moe.normalize_top_k);
  EXPECT_FALSE(mixtral.qk_norm);
  const auto qwen = load_model_config(shared_dir() / "models" / "qwen3-moe-tiny");
  EXPECT_EQ(qwen.arch, Architecture::Qwen3Moe);
  EXPECT_EQ(qwen.moe.num_experts, 8);
  EXPECT_EQ(qwen.moe.expert_intermediate_size, 192);
  EXPECT_EQ(qwen.intermediate_size, 768);
  EXPECT_TRUE(qwen.moe.normalize_top_k);
  EXPECT_TRUE(qwen.qk_norm);
  EXPECT_TRUE(qwen.tie_word_embeddings);
  for (int l = 0; l < qwen.num_layers; ++l) EXPECT_TRUE(qwen.is_moe_layer(l));
  EXPECT_FALSE(load_model_config(default_model_dir()).is_moe_layer(0));
}

TEST(ModelConfig, Qwen3MoeSparseStepAndDenseLayers) {
  auto j = base_config();
  j["architectures"] = {"Qwen3MoeForCausalLM"};
  j["num_experts"] = 16;
  j["num_experts_per_tok"] = 4;
  j["moe_intermediate_size"] = 64;
  j["decoder_sparse_step"] = 2;
  j["mlp_only_layers"] = {5};
  const auto c = parse(j);
  EXPECT_FALSE(c.moe.normalize_top_k);  // norm_topk_prob defaults to false
  const std::vector<bool> want = {false, true, false, true, false, false, false, true};
  for (int l = 0; l < 8; ++l) EXPECT_EQ(c.is_moe_layer(l), want[l]) << l;
  j["num_experts_per_tok"] = 17;
  EXPECT_NE(error_of(j).find("num_experts_per_tok"), std::string::npos);
  j["num_experts_per_tok"] = 4;
  j["mlp_only_layers"] = {8};
  EXPECT_NE(error_of(j).find("mlp_only_layers"), std::string::npos);
  j.erase("mlp_only_layers");
  j.erase("moe_intermediate_size");
  EXPECT_NE(error_of(j).find("'moe_intermediate_size'"), std::string::npos);
}

// InternLM2 configs: `bias` for the attention biases, rope_scaling {type: dynamic, factor}.
TEST(ModelConfig, ParsesInternLM2) {
  auto j = base_config();
  j["architectures"] = {"InternLM2ForCausalLM"};
  j["bias"] = true;
  j["rope_theta"] = 1000000;
  j["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
  const auto c = parse(j);
  EXPECT_EQ(c.arch, Architecture::InternLM2);
  EXPECT_TRUE(c.qkv_bias && c.o_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_EQ(c.rope.type, RopeType::DynamicNtk);
  EXPECT_DOUBLE_EQ(c.rope.factor, 2.0);
  EXPECT_DOUBLE_EQ(c.rope.theta, 1e6);
  j["bias"] = false;
  EXPECT_FALSE(parse(j).qkv_bias);
}

// wqkv per KV head h: its G query heads, then k_h, then v_h.
TEST(PackedQkv, UnpacksPerKvHead) {
  EXPECT_EQ(unpack_qkv_blocks(4, 2), (std::vector<int64_t>{0, 1, 4, 5, 2, 6, 3, 7}));
  EXPECT_EQ(unpack_qkv_blocks(2, 2), (std::vector<int64_t>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(unpack_qkv_blocks(3, 1), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}
