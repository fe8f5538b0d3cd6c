// LlamaModel on a tiny random checkpoint written by the test: tensor-level load errors name the
// tensor, bad forward inputs are Errors, and the KV cache makes step-by-step decoding agree with
// one full prefill (and with mixing prefill chunks and decodes in one batch).
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

constexpr int kHidden = 24, kInter = 40, kLayers = 2, kHeads = 4, kKvHeads = 2, kHeadDim = 6, kVocab = 50;

std::vector<FakeTensor> tiny_llama_tensors() {
  std::mt19937 rng(42);
  std::vector<FakeTensor> t;
  t.push_back(random_tensor("model.embed_tokens.weight", {kVocab, kHidden}, rng));
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back(random_tensor(p + "input_layernorm.weight", {kHidden}, rng, 0.5f, 1.5f));
    t.push_back(random_tensor(p + "self_attn.q_proj.weight", {kHeads * kHeadDim, kHidden}, rng));
    t.push_back(random_tensor(p + "self_attn.k_proj.weight", {kKvHeads * kHeadDim, kHidden}, rng));
    t.push_back(random_tensor(p + "self_attn.v_proj.weight", {kKvHeads * kHeadDim, kHidden}, rng));
    t.push_back(random_tensor(p + "self_attn.o_proj.weight", {kHidden, kHeads * kHeadDim}, rng));
    t.push_back(random_tensor(p + "post_attention_layernorm.weight", {kHidden}, rng, 0.5f, 1.5f));
    t.push_back(random_tensor(p + "mlp.gate_proj.weight", {kInter, kHidden}, rng));
    t.push_back(random_tensor(p + "mlp.up_proj.weight", {kInter, kHidden}, rng));
    t.push_back(random_tensor(p + "mlp.down_proj.weight", {kHidden, kInter}, rng));
  }
  t.push_back(random_tensor("model.norm.weight", {kHidden}, rng, 0.5f, 1.5f));
  t.push_back(random_tensor("lm_head.weight", {kVocab, kHidden}, rng));
  return t;
}

std::filesystem::path write_model(const std::vector<FakeTensor>& tensors) {
  const auto dir = temp_dir("tiny-llama");
  std::ofstream(dir / "config.json") << R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 24,
    "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 6, "vocab_size": 50, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "dtype": "float32",
    "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2})";
  write_safetensors(dir / "model.safetensors", tensors);
  return dir;
}

struct Tiny {
  ModelConfig config;
  Checkpoint checkpoint;
  std::unique_ptr<Backend> backend;
};

Tiny open_tiny(const std::filesystem::path& dir) {
  BackendOptions o;
  o.threads = 2;
  return Tiny{load_model_config(dir), Checkpoint::open(dir), make_backend(o)};
}

std::string load_error(const std::vector<FakeTensor>& tensors) {
  Tiny t = open_tiny(write_model(tensors));
  try {
    LlamaModel model(t.config, t.checkpoint, *t.backend);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LlamaModel, MissingTensorIsAnErrorNamingIt) {
  auto tensors = tiny_llama_tensors();
  std::erase_if(tensors, [](const FakeTensor& t) { return t.name == "model.layers.1.mlp.down_proj.weight"; });
  EXPECT_NE(load_error(tensors).find("model.layers.1.mlp.down_proj.weight"), std::string::npos);
}

TEST(LlamaModel, WrongShapeIsAnErrorNamingIt) {
  auto tensors = tiny_llama_tensors();
  std::mt19937 rng(1);
  for (auto& t : tensors)
    if (t.name == "model.layers.0.self_attn.k_proj.weight") t = random_tensor(t.name, {kHeadDim, kHidden}, rng);
  EXPECT_NE(load_error(tensors).find("model.layers.0.self_attn.k_proj.weight"), std::string::npos);
}

TEST(LlamaModel, ProgressReachesTheTotal) {
  Tiny t = open_tiny(write_model(tiny_llama_tensors()));
  size_t last_done = 0, last_total = 0, calls = 0;
  LlamaModel model(t.config, t.checkpoint, *t.backend, [&](size_t done, size_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
    ++calls;
  });
  EXPECT_GT(calls, size_t(kLayers));
  EXPECT_EQ(last_done, last_total);
  EXPECT_EQ(last_total, t.checkpoint.total_bytes());
}

TEST(LlamaModel, ForwardRejectsBadInput) {
  Tiny t = open_tiny(write_model(tiny_llama_tensors()));
  LlamaModel model(t.config, t.checkpoint, *t.backend);
  KvCache cache = t.backend->allocate_kv_cache(model.kv_cache_spec(4, 8));
  BatchInput bad_id{{3, kVocab}, {{0, 2, {0}, false}}};
  EXPECT_THROW(model.forward(bad_id, cache), Error);
  BatchInput empty;
  EXPECT_THROW(model.forward(empty, cache), Error);
  BatchInput short_table{std::vector<int32_t>(9, 3), {{0, 9, {0}, false}}};  // 9 tokens need 2 blocks
  EXPECT_THROW(model.forward(short_table, cache), Error);
  KvCacheSpec other = model.kv_cache_spec(4, 8);
  other.num_layers = 1;
  KvCache wrong = t.backend->allocate_kv_cache(other);
  BatchInput ok{{3, 4}, {{0, 2, {0}, false}}};
  EXPECT_THROW(model.forward(ok, wrong), Error);
  EXPECT_EQ(model.forward(ok, cache).shape, (std::vector<int64_t>{1, kVocab}));
}

// --lm-head-quant int4 needs 4-bit groups of at least 32 columns: a hidden size of 24 is an Error that
// says so, and the model keeps its 16-bit lm_head and still runs.
TEST(LlamaModel, FourBitLmHeadRefusesAHiddenSizeBelowOneGroup) {
  Tiny t = open_tiny(write_model(tiny_llama_tensors()));
  LlamaModel model(t.config, t.checkpoint, *t.backend);
  try {
    model.quantize_lm_head();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "--lm-head-quant int4: the hidden size 24 is not a multiple of 32 (the smallest 4-bit group)");
  }
  KvCache cache = t.backend->allocate_kv_cache(model.kv_cache_spec(4, 8));
  EXPECT_EQ(model.forward(BatchInput{{3, 4}, {{0, 2, {0}, false}}}, cache).shape, (std::vector<int64_t>{1, kVocab}));
}

// Logits of the last token: one prefill of all 20 tokens, vs prefill 5 + decode one by one while
// another sequence prefills in chunks in the same batches.
TEST(LlamaModel, IncrementalDecodeMatchesFullPrefill) {
  Tiny t = open_tiny(write_model(tiny_llama_tensors()));
  LlamaModel model(t.config, t.checkpoint, *t.backend);
  std::vector<int32_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back((i * 7 + 3) % kVocab);
  const int block_len = 4;

  KvCache full_cache = t.backend->allocate_kv_cache(model.kv_cache_spec(5, block_len));
  BatchInput full{ids, {{0, 20, {4, 2, 0, 3, 1}, true}}};
  const auto want = t.backend->download_f32(model.forward(full, full_cache));

  KvCache cache = t.backend->allocate_kv_cache(model.kv_cache_spec(12, block_len));
  const std::vector<int32_t> table_a = {7, 1, 9, 0, 4}, table_b = {11, 2, 5, 3, 6, 8, 10};
  std::vector<int32_t> other(26);
  for (int i = 0; i < 26; ++i) other[i] = (i * 5 + 1) % kVocab;
  int a_done = 0, b_done = 0;
  while (a_done < 20) {
    BatchInput in;
    const int a_n = a_done == 0 ? 5 : 1;
    in.token_ids.assign(ids.begin() + a_done, ids.begin() + a_done + a_n);
    in.sequences.push_back({a_done, a_n, table_a, true});
    if (b_done < 26) {  // the second sequence advances in chunks of 3
      const int b_n = std::min(3, 26 - b_done);
      in.token_ids.insert(in.token_ids.end(), other.begin() + b_done, other.begin() + b_done + b_n);
      in.sequences.push_back({b_done, b_n, table_b, false});
      b_done += b_n;
    }
    const auto logits = t.backend->download_f32(model.forward(in, cache));
    for (int i = 0; i < a_n; ++i)
      for (int v = 0; v < kVocab; ++v)
        ASSERT_NEAR(logits[size_t(i) * kVocab + v], want[size_t(a_done + i) * kVocab + v], 1e-4)
            << "position " << a_done + i;
    a_done += a_n;
  }
}

// A sequence with logits off gets no row: the rows that remain are the same numbers.
TEST(LlamaModel, LogitsOnlyForSequencesThatWantThem) {
  Tiny t = open_tiny(write_model(tiny_llama_tensors()));
  LlamaModel model(t.config, t.checkpoint, *t.backend);
  const int block_len = 4;
  auto run = [&](bool a_logits, bool b_logits) {
    KvCache cache = t.backend->allocate_kv_cache(model.kv_cache_spec(6, block_len));
    BatchInput in;
    in.token_ids = {3, 9, 4, 1, 7, 2, 8};
    in.sequences.push_back({0, 4, {0}, false, a_logits});
    in.sequences.push_back({0, 3, {1}, false, b_logits});
    const Tensor logits = model.forward(in, cache);
    EXPECT_EQ(logits.dim(1), kVocab);
    return t.backend->download_f32(logits);
  };
  const auto both = run(true, true), only_b = run(false, true), none = run(false, false);
  ASSERT_EQ(both.size(), size_t(2 * kVocab));
  ASSERT_EQ(only_b.size(), size_t(kVocab));
  EXPECT_TRUE(none.empty());
  for (int v = 0; v < kVocab; ++v) EXPECT_EQ(only_b[v], both[kVocab + v]) << v;
}

}  // namespace
}  // namespace turbine::test
