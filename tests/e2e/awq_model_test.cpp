// An AWQ folder written by the quantizer (round to nearest on a tiny random Llama) loads through
// LlamaModel's 4-bit path (AutoAWQ's tensors unpacked, q|k|v and gate|up stacked, packed by the CPU
// backend) and computes what the same model computes with those 4-bit weights dequantized into an fp32
// checkpoint: logits agree to fp32 rounding.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "backend/backend.h"
#include "model/awq_model_folder.h"
#include "model/awq_quantizer.h"
#include "model/checkpoint.h"
#include "model/int4_groups.h"
#include "model/llama_model.h"
#include "model/model_config.h"
#include "support/safetensors_writer.h"

namespace turbine::test {
namespace {

constexpr int kHidden = 32, kInter = 48, kLayers = 2, kHeads = 4, kKvHeads = 2, kHeadDim = 8, kVocab = 40, kGroup = 16;

std::vector<float> floats_of(const FakeTensor& t) {
  std::vector<float> v(t.bytes.size() / 4);
  std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

FakeTensor tensor(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v) {
  FakeTensor t{name, "F32", std::move(shape), std::vector<uint8_t>(v.size() * 4)};
  std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

FakeTensor random_tensor(const std::string& name, std::vector<int64_t> shape, std::mt19937& rng, float lo, float hi) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return tensor(name, std::move(shape), v);
}

bool is_projection(const std::string& name) {
  for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"})
    if (name.find(p) != std::string::npos) return true;
  return false;
}

std::filesystem::path write_folder(const std::string& tag, const std::vector<FakeTensor>& tensors) {
  const auto dir = temp_dir(tag);
  std::ofstream(dir / "config.json") << R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 32,
    "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 8, "vocab_size": 40, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "dtype": "float32",
    "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2})";
  write_safetensors(dir / "model.safetensors", tensors);
  return dir;
}

std::vector<float> logits_of(const std::filesystem::path& dir, const std::vector<int32_t>& ids) {
  BackendOptions o;
  o.threads = 2;
  const ModelConfig config = load_model_config(dir);
  const Checkpoint ckpt = Checkpoint::open(dir);
  auto backend = make_backend(o);
  LlamaModel model(config, ckpt, *backend);
  KvCache cache = backend->allocate_kv_cache(model.kv_cache_spec(4, 16));
  BatchInput in;
  in.token_ids = ids;
  SequenceInput seq;
  seq.num_tokens = int32_t(ids.size());
  seq.block_table = {0, 1, 2, 3};
  seq.all_logits = true;
  in.sequences.push_back(seq);
  return backend->download_f32(model.forward(in, cache));
}

TEST(AwqModel, FourBitFolderComputesItsDequantizedModel) {
  std::mt19937 rng(7);
  std::vector<FakeTensor> t;
  t.push_back(random_tensor("model.embed_tokens.weight", {kVocab, kHidden}, rng, -1.0f, 1.0f));
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back(random_tensor(p + "input_layernorm.weight", {kHidden}, rng, 0.5f, 1.5f));
    t.push_back(random_tensor(p + "self_attn.q_proj.weight", {kHeads * kHeadDim, kHidden}, rng, -0.5f, 0.5f));
    t.push_back(random_tensor(p + "self_attn.k_proj.weight", {kKvHeads * kHeadDim, kHidden}, rng, -0.5f, 0.5f));
    t.push_back(random_tensor(p + "self_attn.v_proj.weight", {kKvHeads * kHeadDim, kHidden}, rng, -0.5f, 0.5f));
    t.push_back(random_tensor(p + "self_attn.o_proj.weight", {kHidden, kHeads * kHeadDim}, rng, -0.5f, 0.5f));
    t.push_back(random_tensor(p + "post_attention_layernorm.weight", {kHidden}, rng, 0.5f, 1.5f));
    t.push_back(random_tensor(p + "mlp.gate_proj.weight", {kInter, kHidden}, rng, -0.5f, 0.5f));
    t.push_back(random_tensor(p + "mlp.up_proj.weight", {kInter, kHidden}, rng, -0.5f, 0.5f));
    t.push_back(random_tensor(p + "mlp.down_proj.weight", {kHidden, kInter}, rng, -0.5f, 0.5f));
  }
  t.push_back(random_tensor("model.norm.weight", {kHidden}, rng, 0.5f, 1.5f));
  t.push_back(random_tensor("lm_head.weight", {kVocab, kHidden}, rng, -0.5f, 0.5f));
  const auto source = write_folder("awq-source", t);

  // The 4-bit folder, as `turbine quantize awq --method rtn` writes it.
  QuantizeOptions options;
  options.method = QuantMethod::Rtn;
  options.group_size = kGroup;
  options.threads = 2;
  const auto awq = temp_dir("awq-out") / "model";
  write_awq_model_folder(source, awq, load_model_config(source), Checkpoint::open(source), {}, options);
  EXPECT_EQ(load_model_config(awq).awq_group_size, kGroup);

  // The same model with each projection replaced by its dequantized 4-bit weights, in fp32.
  std::vector<FakeTensor> dequantized;
  for (const FakeTensor& x : t) {
    if (!is_projection(x.name)) {
      dequantized.push_back(x);
      continue;
    }
    const int64_t n = x.shape[0], k = x.shape[1];
    dequantized.push_back(tensor(x.name, x.shape, dequantize_int4(quantize_int4(floats_of(x), n, k, kGroup))));
  }
  const auto reference = write_folder("awq-dequantized", dequantized);

  const std::vector<int32_t> ids = {1, 5, 9, 33, 2, 17, 8, 8, 30, 12, 4, 39};  // 12 tokens: the many-token form
  const std::vector<float> got = logits_of(awq, ids), want = logits_of(reference, ids);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4f + 1e-4f * std::abs(want[i])) << i;
  // Decode-sized steps take the 4-bit dot kernel: the last token alone agrees as well.
  const std::vector<int32_t> one = {ids[0]};
  const std::vector<float> got1 = logits_of(awq, one), want1 = logits_of(reference, one);
  for (size_t i = 0; i < got1.size(); ++i) EXPECT_NEAR(got1[i], want1[i], 1e-4f + 1e-4f * std::abs(want1[i])) << i;
}

TEST(AwqModel, MissingPackedTensorIsAnErrorNamingIt) {
  std::mt19937 rng(8);
  const auto dir = temp_dir("awq-broken");
  std::ofstream(dir / "config.json") << R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 32,
    "intermediate_size": 48, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 8, "vocab_size": 40, "dtype": "float16", "quantization_config": {"quant_method": "awq",
    "bits": 4, "group_size": 16, "version": "gemm", "zero_point": true}})";
  write_safetensors(dir / "model.safetensors",
                    {random_tensor("model.embed_tokens.weight", {kVocab, kHidden}, rng, -1.0f, 1.0f),
                     random_tensor("model.layers.0.input_layernorm.weight", {kHidden}, rng, 0.5f, 1.5f)});
  BackendOptions o;
  const ModelConfig config = load_model_config(dir);
  const Checkpoint ckpt = Checkpoint::open(dir);
  auto backend = make_backend(o);
  try {
    LlamaModel model(config, ckpt, *backend);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q_proj.qweight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace turbine::test
