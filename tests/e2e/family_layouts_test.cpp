// The loader's InternLM2 and MoE layouts against an equivalent Llama-layout model written by the
// test: an InternLM2 checkpoint with biases (packed wqkv and its bias, wo bias, G = 3 query heads per
// KV head) computes what the q/k/v-apart original does; a Qwen3-MoE checkpoint whose first layer is
// dense (mlp_only_layers) and whose second has four copies of the dense MLP as its experts (top-2,
// normalized: the weighted sum is the MLP itself) computes what the dense Qwen3 does.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "backend/backend.h"
#include "model/checkpoint.h"
#include "model/llama_model.h"
#include "model/model_config.h"
#include "support/safetensors_writer.h"

namespace turbine::test {
namespace {

constexpr int kHidden = 24, kInter = 40, kLayers = 2, kHeads = 6, kKvHeads = 2, kHeadDim = 4, kVocab = 50;

FakeTensor renamed(FakeTensor t, const std::string& name) {
  t.name = name;
  return t;
}

// Llama-layout tensors by name (q/k/v biases and o bias; q/k norms for the Qwen3 pair).
std::map<std::string, FakeTensor> base_tensors() {
  std::mt19937 rng(7);
  std::map<std::string, FakeTensor> t;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, float lo = -0.5f, float hi = 0.5f) {
    t[name] = random_tensor(name, std::move(shape), rng, lo, hi);
  };
  add("model.embed_tokens.weight", {kVocab, kHidden});
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {kHidden}, 0.5f, 1.5f);
    add(p + "post_attention_layernorm.weight", {kHidden}, 0.5f, 1.5f);
    for (const char* x : {"q", "k", "v"}) {
      const int64_t rows = (*x == 'q' ? kHeads : kKvHeads) * kHeadDim;
      add(p + "self_attn." + x + "_proj.weight", {rows, kHidden});
      add(p + "self_attn." + x + "_proj.bias", {rows});
    }
    add(p + "self_attn.o_proj.weight", {kHidden, kHeads * kHeadDim});
    add(p + "self_attn.o_proj.bias", {kHidden});
    add(p + "self_attn.q_norm.weight", {kHeadDim}, 0.5f, 1.5f);
    add(p + "self_attn.k_norm.weight", {kHeadDim}, 0.5f, 1.5f);
    add(p + "mlp.gate_proj.weight", {kInter, kHidden});
    add(p + "mlp.up_proj.weight", {kInter, kHidden});
    add(p + "mlp.down_proj.weight", {kHidden, kInter});
  }
  add("model.norm.weight", {kHidden}, 0.5f, 1.5f);
  add("lm_head.weight", {kVocab, kHidden});
  return t;
}

std::string sizes_json() {
  return R"("hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 6,
    "num_key_value_heads": 2, "head_dim": 4, "vocab_size": 50, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
    "dtype": "float32", "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2)";
}

std::filesystem::path write_model(const std::string& tag, const std::string& config,
                                  const std::vector<FakeTensor>& tensors) {
  const auto dir = temp_dir(tag);
  std::ofstream(dir / "config.json") << "{" << config << ", " << sizes_json() << "}";
  write_safetensors(dir / "model.safetensors", tensors);
  return dir;
}

// Logits of every position of one fixed sequence, fed as a prefill of 5 tokens and 3 decodes.
std::vector<float> run_logits(const std::filesystem::path& dir) {
  const ModelConfig config = load_model_config(dir);
  const Checkpoint checkpoint = Checkpoint::open(dir);
  BackendOptions o;
  o.threads = 2;
  auto backend = make_backend(o);
  LlamaModel model(config, checkpoint, *backend);
  KvCache cache = backend->allocate_kv_cache(model.kv_cache_spec(2, 8));
  const std::vector<int32_t> ids = {1, 7, 33, 4, 49, 12, 0, 25};
  std::vector<float> all;
  for (int done = 0; done < int(ids.size());) {
    const int n = done == 0 ? 5 : 1;
    BatchInput in;
    in.token_ids.assign(ids.begin() + done, ids.begin() + done + n);
    in.sequences.push_back({done, n, {0, 1}, true});
    const auto logits = backend->download_f32(model.forward(in, cache));
    all.insert(all.end(), logits.begin(), logits.end());
    done += n;
  }
  return all;
}

void expect_same_logits(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4) << i;
}

TEST(FamilyLayouts, InternLM2WithBiasesMatchesLlama) {
  auto t = base_tensors();
  std::vector<FakeTensor> llama, internlm2;
  for (const auto& [name, tensor] : t)
    if (name.find("q_norm") == std::string::npos && name.find("k_norm") == std::string::npos) llama.push_back(tensor);
  internlm2.push_back(renamed(t["model.embed_tokens.weight"], "model.tok_embeddings.weight"));
  internlm2.push_back(t["model.norm.weight"]);
  internlm2.push_back(renamed(t["lm_head.weight"], "output.weight"));
  const int group = kHeads / kKvHeads;
  const size_t head_w = size_t(kHeadDim) * kHidden * 4, head_b = size_t(kHeadDim) * 4;
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    FakeTensor wqkv{p + "attention.wqkv.weight", "F32", {int64_t(kHeads + 2 * kKvHeads) * kHeadDim, kHidden}, {}};
    FakeTensor bqkv{p + "attention.wqkv.bias", "F32", {int64_t(kHeads + 2 * kKvHeads) * kHeadDim}, {}};
    auto append = [&](const char* x, int head) {
      const FakeTensor& w = t[p + "self_attn." + x + "_proj.weight"];
      const FakeTensor& b = t[p + "self_attn." + x + "_proj.bias"];
      wqkv.bytes.insert(wqkv.bytes.end(), w.bytes.begin() + head * head_w, w.bytes.begin() + (head + 1) * head_w);
      bqkv.bytes.insert(bqkv.bytes.end(), b.bytes.begin() + head * head_b, b.bytes.begin() + (head + 1) * head_b);
    };
    for (int h = 0; h < kKvHeads; ++h) {
      for (int g = 0; g < group; ++g) append("q", h * group + g);
      append("k", h);
      append("v", h);
    }
    internlm2.push_back(wqkv);
    internlm2.push_back(bqkv);
    internlm2.push_back(renamed(t[p + "self_attn.o_proj.weight"], p + "attention.wo.weight"));
    internlm2.push_back(renamed(t[p + "self_attn.o_proj.bias"], p + "attention.wo.bias"));
    internlm2.push_back(renamed(t[p + "mlp.gate_proj.weight"], p + "feed_forward.w1.weight"));
    internlm2.push_back(renamed(t[p + "mlp.up_proj.weight"], p + "feed_forward.w3.weight"));
    internlm2.push_back(renamed(t[p + "mlp.down_proj.weight"], p + "feed_forward.w2.weight"));
    internlm2.push_back(renamed(t[p + "input_layernorm.weight"], p + "attention_norm.weight"));
    internlm2.push_back(renamed(t[p + "post_attention_layernorm.weight"], p + "ffn_norm.weight"));
  }
  const auto want = run_logits(
      write_model("llama-bias", R"("architectures": ["LlamaForCausalLM"], "attention_bias": true)", llama));
  const auto got = run_logits(
      write_model("internlm2-bias", R"("architectures": ["InternLM2ForCausalLM"], "bias": true)", internlm2));
  expect_same_logits(got, want);
}

TEST(FamilyLayouts, Qwen3MoeWithDenseLayerAndEqualExpertsMatchesQwen3) {
  auto t = base_tensors();
  std::vector<FakeTensor> dense, moe;
  for (const auto& [name, tensor] : t) {
    if (name.find("_proj.bias") != std::string::npos) continue;
    dense.push_back(tensor);
    if (name.find("layers.1.mlp.") == std::string::npos) moe.push_back(tensor);
  }
  const std::string p = "model.layers.1.mlp.";
  std::mt19937 rng(9);
  moe.push_back(random_tensor(p + "gate.weight", {4, kHidden}, rng));
  for (int e = 0; e < 4; ++e)
    for (const char* x : {"gate_proj", "up_proj", "down_proj"})
      moe.push_back(renamed(t[p + x + ".weight"], p + "experts." + std::to_string(e) + "." + x + ".weight"));
  const auto want = run_logits(write_model("qwen3-dense", R"("architectures": ["Qwen3ForCausalLM"])", dense));
  const auto moe_dir = write_model("qwen3-moe", R"("architectures": ["Qwen3MoeForCausalLM"], "num_experts": 4,
    "num_experts_per_tok": 2, "moe_intermediate_size": 40, "norm_topk_prob": true, "mlp_only_layers": [0])",
                                   moe);
  expect_same_logits(run_logits(moe_dir), want);
  // An expert missing from the checkpoint is an error naming it.
  moe.pop_back();
  const auto broken = write_model("qwen3-moe-broken", R"("architectures": ["Qwen3MoeForCausalLM"], "num_experts": 4,
    "num_experts_per_tok": 2, "moe_intermediate_size": 40, "norm_topk_prob": true, "mlp_only_layers": [0])",
                                  moe);
  try {
    run_logits(broken);
    FAIL() << "loaded a checkpoint without expert 3's down_proj";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("experts.3.down_proj"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace turbine::test
