// `quantize awq` of InternLM2's packed wqkv (model/awq_quantizer.cpp): a small Llama model with q/k/v
// biases and its InternLM2 copy (the same function, wqkv and its bias packed per KV head) quantize to
// the same 4-bit rows and the same biases, the InternLM2 ones in the packed order. With as many KV heads
// as heads, AWQ folds o_proj's scales into v's rows and bias, which the packed bias must carry too.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <random>

#include "model/awq_format.h"
#include "model/awq_quantizer.h"
#include "model/checkpoint.h"
#include "model/model_config.h"
#include "support/safetensors_writer.h"

namespace turbine::test {
namespace {

constexpr int kHidden = 32, kInter = 64, kHeadDim = 8, kVocab = 50, kGroup = 32;

FakeTensor renamed(FakeTensor t, const std::string& name) {
  t.name = name;
  return t;
}

std::filesystem::path write_model(const std::string& tag, const std::string& arch, int heads, int kv_heads,
                                  const std::vector<FakeTensor>& tensors) {
  const auto dir = temp_dir(tag);
  std::ofstream(dir / "config.json") << "{" << arch << R"(, "hidden_size": 32, "intermediate_size": 64,
    "num_hidden_layers": 1, "num_attention_heads": )" << heads << R"(, "num_key_value_heads": )" << kv_heads << R"(,
    "head_dim": 8, "vocab_size": 50, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "dtype": "float32",
    "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2})";
  write_safetensors(dir / "model.safetensors", tensors);
  return dir;
}

using Quantized = std::map<std::string, TensorToWrite>;

Quantized quantize(const std::filesystem::path& dir, QuantMethod method) {
  const ModelConfig config = load_model_config(dir);
  const Checkpoint checkpoint = Checkpoint::open(dir);
  std::mt19937 rng(11);
  std::vector<int32_t> calibration(256);
  for (int32_t& id : calibration) id = int32_t(rng() % kVocab);
  QuantizeOptions o;
  o.method = method;
  o.group_size = kGroup;
  o.threads = 2;
  o.sequence_len = 128;
  Quantized out;
  quantize_checkpoint(config, checkpoint, calibration, o, [&](const SafetensorsEntry& e, const void* data) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    out[e.name] = TensorToWrite{e.name, e.dtype, e.shape, std::vector<uint8_t>(bytes, bytes + e.bytes())};
  });
  return out;
}

template <typename T>
std::vector<T> values(const TensorToWrite& t) {
  std::vector<T> v(t.bytes.size() / sizeof(T));
  std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

HostInt4Matrix unpacked(const Quantized& q, const std::string& base, int64_t n, int64_t k) {
  const std::vector<int32_t> qweight = values<int32_t>(q.at(base + ".qweight"));
  const std::vector<int32_t> qzeros = values<int32_t>(q.at(base + ".qzeros"));
  const std::vector<uint16_t> scales = values<uint16_t>(q.at(base + ".scales"));
  return unpack_awq(qweight.data(), qzeros.data(), scales.data(), n, k, kGroup);
}

// The rows of InternLM2's packed order (per KV head: its query heads, then k, then v) taken from
// row-major q, k and v parts of `row` elements per output.
template <typename T>
std::vector<T> packed(const std::vector<T>& q, const std::vector<T>& k, const std::vector<T>& v, int heads,
                      int kv_heads, size_t row) {
  const size_t head = size_t(kHeadDim) * row;
  const int group = heads / kv_heads;
  std::vector<T> out;
  const auto append = [&](const std::vector<T>& part, int h) {
    out.insert(out.end(), part.begin() + h * head, part.begin() + (h + 1) * head);
  };
  for (int h = 0; h < kv_heads; ++h) {
    for (int g = 0; g < group; ++g) append(q, h * group + g);
    append(k, h);
    append(v, h);
  }
  return out;
}

class AwqPackedQkv : public ::testing::TestWithParam<std::tuple<int, QuantMethod>> {};

TEST_P(AwqPackedQkv, InternLM2QuantizesToTheLlamaRowsInItsPackedOrder) {
  const auto [kv_heads, method] = GetParam();
  const int heads = 4;
  std::mt19937 rng(5);
  std::map<std::string, FakeTensor> t;
  const auto add = [&](const std::string& name, std::vector<int64_t> shape, float lo = -0.5f, float hi = 0.5f) {
    t[name] = random_tensor(name, std::move(shape), rng, lo, hi);
  };
  const std::string p = "model.layers.0.";
  add("model.embed_tokens.weight", {kVocab, kHidden});
  add(p + "input_layernorm.weight", {kHidden}, 0.5f, 1.5f);
  add(p + "post_attention_layernorm.weight", {kHidden}, 0.5f, 1.5f);
  for (const char* x : {"q", "k", "v"}) {
    const int64_t rows = int64_t(*x == 'q' ? heads : kv_heads) * kHeadDim;
    add(p + "self_attn." + x + "_proj.weight", {rows, kHidden});
    add(p + "self_attn." + x + "_proj.bias", {rows});
  }
  add(p + "self_attn.o_proj.weight", {kHidden, heads * kHeadDim});
  add(p + "self_attn.o_proj.bias", {kHidden});
  add(p + "mlp.gate_proj.weight", {kInter, kHidden});
  add(p + "mlp.up_proj.weight", {kInter, kHidden});
  add(p + "mlp.down_proj.weight", {kHidden, kInter});
  add("model.norm.weight", {kHidden}, 0.5f, 1.5f);
  add("lm_head.weight", {kVocab, kHidden});

  std::vector<FakeTensor> llama, internlm2;
  for (const auto& [name, tensor] : t) llama.push_back(tensor);
  const auto part = [&](const char* x, const char* kind) { return t[p + "self_attn." + x + "_proj." + kind].bytes; };
  const int64_t n = int64_t(heads + 2 * kv_heads) * kHeadDim;
  internlm2 = {renamed(t["model.embed_tokens.weight"], "model.tok_embeddings.weight"), t["model.norm.weight"],
               renamed(t["lm_head.weight"], "output.weight"),
               FakeTensor{p + "attention.wqkv.weight", "F32", {n, kHidden},
                          packed(part("q", "weight"), part("k", "weight"), part("v", "weight"), heads, kv_heads,
                                 size_t(kHidden) * 4)},
               FakeTensor{p + "attention.wqkv.bias", "F32", {n},
                          packed(part("q", "bias"), part("k", "bias"), part("v", "bias"), heads, kv_heads, 4)},
               renamed(t[p + "self_attn.o_proj.weight"], p + "attention.wo.weight"),
               renamed(t[p + "self_attn.o_proj.bias"], p + "attention.wo.bias"),
               renamed(t[p + "mlp.gate_proj.weight"], p + "feed_forward.w1.weight"),
               renamed(t[p + "mlp.up_proj.weight"], p + "feed_forward.w3.weight"),
               renamed(t[p + "mlp.down_proj.weight"], p + "feed_forward.w2.weight"),
               renamed(t[p + "input_layernorm.weight"], p + "attention_norm.weight"),
               renamed(t[p + "post_attention_layernorm.weight"], p + "ffn_norm.weight")};

  const std::string tag = std::to_string(kv_heads) + (method == QuantMethod::Awq ? "-awq" : "-rtn");
  const Quantized a = quantize(
      write_model("awq-llama-" + tag, R"("architectures": ["LlamaForCausalLM"], "attention_bias": true)", heads,
                  kv_heads, llama),
      method);
  const Quantized b = quantize(
      write_model("awq-internlm2-" + tag, R"("architectures": ["InternLM2ForCausalLM"], "bias": true)", heads,
                  kv_heads, internlm2),
      method);

  ASSERT_EQ(b.count(p + "attention.wqkv.weight"), 0u);
  const HostInt4Matrix q = unpacked(a, p + "self_attn.q_proj", heads * kHeadDim, kHidden);
  const HostInt4Matrix k = unpacked(a, p + "self_attn.k_proj", kv_heads * kHeadDim, kHidden);
  const HostInt4Matrix v = unpacked(a, p + "self_attn.v_proj", kv_heads * kHeadDim, kHidden);
  const HostInt4Matrix wqkv = unpacked(b, p + "attention.wqkv", n, kHidden);
  const size_t groups = kHidden / kGroup;
  EXPECT_EQ(wqkv.q, packed(q.q, k.q, v.q, heads, kv_heads, kHidden));
  EXPECT_EQ(wqkv.zeros, packed(q.zeros, k.zeros, v.zeros, heads, kv_heads, groups));
  EXPECT_EQ(wqkv.scales, packed(q.scales, k.scales, v.scales, heads, kv_heads, groups));

  const auto bias = [&](const char* x) { return values<float>(a.at(p + "self_attn." + x + "_proj.bias")); };
  EXPECT_EQ(values<float>(b.at(p + "attention.wqkv.bias")),
            packed(bias("q"), bias("k"), bias("v"), heads, kv_heads, 1));
  EXPECT_EQ(values<float>(b.at(p + "attention_norm.weight")), values<float>(a.at(p + "input_layernorm.weight")));
  EXPECT_EQ(b.at(p + "feed_forward.w2.qweight").bytes, a.at(p + "mlp.down_proj.qweight").bytes);
  EXPECT_EQ(b.at(p + "attention.wo.qweight").bytes, a.at(p + "self_attn.o_proj.qweight").bytes);
  if (method == QuantMethod::Awq && kv_heads == heads) {  // the fold of o_proj's scales reached v's bias
    EXPECT_NE(bias("v"), values<float>(TensorToWrite{"", DType::F32, {}, t[p + "self_attn.v_proj.bias"].bytes}));
  }
}

INSTANTIATE_TEST_SUITE_P(KvHeadsAndMethods, AwqPackedQkv,
                         ::testing::Combine(::testing::Values(4, 2),
                                            ::testing::Values(QuantMethod::Awq, QuantMethod::Rtn)));

}  // namespace
}  // namespace turbine::test
