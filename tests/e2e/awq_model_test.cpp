// An AWQ folder written by the quantizer (round to nearest on a tiny random Llama) loads through
// LlamaModel's 4-bit path (AutoAWQ's tensors unpacked, q|k|v and gate|up stacked, packed by the CPU
// backend) and computes what the same model computes with those 4-bit weights dequantized into an fp32
// checkpoint: logits agree to fp32 rounding. The folder is written tensor by tensor as the quantizer
// produces them: the file is the one the quantized tensors make written whole in name order, and a
// failure part way leaves nothing behind.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>

#include "backend/backend.h"
#include "model/awq_model_folder.h"
#include "model/awq_quantizer.h"
#include "model/checkpoint.h"
#include "model/int4_groups.h"
#include "model/llama_model.h"
#include "model/model_config.h"
#include "model/safetensors_writer.h"
#include "support/safetensors_writer.h"
#include "support/test_helpers.h"

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

// The tiny Llama's tensors, random fp32.
std::vector<FakeTensor> tiny_llama(std::mt19937& rng) {
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
  return t;
}

QuantizeOptions tiny_options(QuantMethod method) {
  QuantizeOptions options;
  options.method = method;
  options.group_size = kGroup;
  options.threads = 2;
  options.sequence_len = 128;
  return options;
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(AwqModel, FourBitFolderComputesItsDequantizedModel) {
  std::mt19937 rng(7);
  const std::vector<FakeTensor> t = tiny_llama(rng);
  const auto source = write_folder("awq-source", t);

  // The 4-bit folder, as `turbine quantize awq --method rtn` writes it.
  const QuantizeOptions options = tiny_options(QuantMethod::Rtn);
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

TEST(AwqModel, TheFolderHoldsTheQuantizedTensorsWrittenWholeInNameOrder) {
  std::mt19937 rng(9);
  const auto source = write_folder("awq-stream-source", tiny_llama(rng));
  const ModelConfig config = load_model_config(source);
  const Checkpoint ckpt = Checkpoint::open(source);
  std::vector<int32_t> calibration(256);
  for (int32_t& id : calibration) id = int32_t(rng() % kVocab);
  for (const QuantMethod method : {QuantMethod::Rtn, QuantMethod::Awq}) {
    SCOPED_TRACE(method == QuantMethod::Rtn ? "rtn" : "awq");
    const QuantizeOptions options = tiny_options(method);
    const auto dir = temp_dir("awq-stream");
    write_awq_model_folder(source, dir / "model", config, ckpt, calibration, options);

    // Every tensor of the layout once, collected in memory and written as one file in name order.
    std::map<std::string, TensorToWrite> tensors;
    quantize_checkpoint(config, ckpt, calibration, options, [&](const SafetensorsEntry& e, const void* data) {
      const auto* bytes = static_cast<const uint8_t*>(data);
      EXPECT_TRUE(tensors.emplace(e.name, TensorToWrite{e.name, e.dtype, e.shape, {bytes, bytes + e.bytes()}}).second)
          << e.name << " twice";
    });
    std::vector<TensorToWrite> whole;
    for (auto& [name, tensor] : tensors) whole.push_back(std::move(tensor));
    const std::vector<SafetensorsEntry> layout = quantized_checkpoint_layout(config, ckpt, options);
    ASSERT_EQ(layout.size(), whole.size());
    for (size_t i = 0; i < layout.size(); ++i) EXPECT_EQ(layout[i].name, whole[i].name);
    EXPECT_EQ(whole.size(), 3 + kLayers * (2 + 7 * 3));  // embedding, final norm, lm_head; per layer 2 norms
    write_safetensors_file(dir / "whole.safetensors", whole);
    EXPECT_EQ(file_bytes(dir / "model" / "model.safetensors"), file_bytes(dir / "whole.safetensors"));
  }
}

TEST(AwqModel, AFailurePartWayLeavesNoFolder) {
  std::mt19937 rng(10);
  const auto source = write_folder("awq-fail-source", tiny_llama(rng));
  const ModelConfig config = load_model_config(source);
  const Checkpoint ckpt = Checkpoint::open(source);
  const auto parent = temp_dir("awq-fail");
  // After the first layer: the copied tensors and layer 0's are in the file by then.
  const std::string stopped = error_of([&] {
    write_awq_model_folder(source, parent / "model", config, ckpt, {}, tiny_options(QuantMethod::Rtn),
                           [](int done, int) {
                             if (done == 1) fail("stopped after layer {}", done);
                           });
  });
  EXPECT_NE(stopped.find("stopped after layer 1"), std::string::npos) << stopped;
  EXPECT_TRUE(std::filesystem::is_empty(parent));
  // A calibration id outside the vocabulary (awq): found once the folder and its header are begun.
  const std::vector<int32_t> calibration(256, kVocab);
  const std::string outside = error_of([&] {
    write_awq_model_folder(source, parent / "model", config, ckpt, calibration, tiny_options(QuantMethod::Awq));
  });
  EXPECT_NE(outside.find("outside the vocabulary"), std::string::npos) << outside;
  EXPECT_TRUE(std::filesystem::is_empty(parent));
  // An empty folder given as `out` is left as it was.
  std::filesystem::create_directory(parent / "model");
  EXPECT_NE(error_of([&] {
              write_awq_model_folder(source, parent / "model", config, ckpt, calibration,
                                     tiny_options(QuantMethod::Awq));
            }).find("outside the vocabulary"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::is_directory(parent / "model"));
  EXPECT_TRUE(std::filesystem::is_empty(parent / "model"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(parent), std::filesystem::directory_iterator()), 1);
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
