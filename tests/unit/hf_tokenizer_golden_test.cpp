// tokenizer.json tokenizers against HF tokenizers' own output (golden.json, made with the reference
// library): every vector must encode to exactly the same ids and decode back to the text.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <thread>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/hf_tokenizer.h"
#include "support/test_paths.h"

using namespace turbine;
using nlohmann::json;

namespace {

const json& golden() {
  static const json parsed = [] {
    std::ifstream in(test::shared_dir() / "golden" / "golden.json");
    return json::parse(in);
  }();
  return parsed;
}

// Loading a 128k-vocabulary tokenizer takes a moment; share one per folder across tests.
const Tokenizer& tokenizer_at(const std::filesystem::path& dir) {
  static std::map<std::filesystem::path, std::unique_ptr<Tokenizer>> loaded;
  auto& slot = loaded[dir];
  if (!slot) slot = load_hf_tokenizer(dir);
  return *slot;
}

void expect_golden_vectors(const std::string& name) {
  const Tokenizer& tok = tokenizer_at(test::shared_dir() / "tokenizers" / name);
  const json& cases = golden().at(name);
  ASSERT_FALSE(cases.empty());
  for (const json& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const auto expected = c.at("ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(text), expected) << name << " text: \"" << text << "\"";
    EXPECT_EQ(tok.decode(expected), text) << name << " ids of \"" << text << "\"";
  }
}

}  // namespace

TEST(HfTokenizerGolden, Llama3ByteLevelBpe) { expect_golden_vectors("llama3"); }
TEST(HfTokenizerGolden, Qwen3ByteLevelBpeWithNfc) { expect_golden_vectors("qwen3"); }
TEST(HfTokenizerGolden, SentencePieceStyleBpeWithByteFallback) { expect_golden_vectors("spm-bpe-32k"); }

TEST(HfTokenizerGolden, Llama3IgnoreMergesWordsAreOneToken) {
  // The last entries of the llama3 vectors are single-token words whose merges would split them.
  const Tokenizer& tok = tokenizer_at(test::shared_dir() / "tokenizers" / "llama3");
  int single_token_words = 0;
  for (const json& c : golden().at("llama3")) {
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    const std::string text = c.at("text").get<std::string>();
    if (ids.size() != 1 || text.size() < 5) continue;
    ++single_token_words;
    EXPECT_EQ(tok.encode(text), ids) << text;
  }
  EXPECT_GE(single_token_words, 12);
}

TEST(HfTokenizerGolden, TinyModelPromptsStartWithBos) {
  for (const char* model : {"qwen2-tiny", "qwen3-tiny", "mistral-tiny"}) {
    const Tokenizer& tok = tokenizer_at(test::shared_dir() / "models" / model);
    ASSERT_TRUE(tok.add_bos) << model;
    ASSERT_TRUE(tok.bos_id.has_value()) << model;
    for (const json& c : golden().at(model)) {
      std::vector<int32_t> ids{*tok.bos_id};
      const auto body = tok.encode(c.at("prompt").get<std::string>());
      ids.insert(ids.end(), body.begin(), body.end());
      EXPECT_EQ(ids, c.at("prompt_ids").get<std::vector<int32_t>>()) << model;
    }
  }
}

TEST(HfTokenizerGolden, SpecialTokenSettingsFromTokenizerConfig) {
  const Tokenizer& llama3 = tokenizer_at(test::shared_dir() / "tokenizers" / "llama3");
  EXPECT_EQ(llama3.bos_token, "<|begin_of_text|>");
  EXPECT_EQ(llama3.bos_id, 128000);
  EXPECT_EQ(llama3.eos_id, 128001);
  EXPECT_FALSE(llama3.add_bos);  // this tokenizer.json's post_processor adds nothing
  EXPECT_EQ(llama3.vocab_size(), 128256);
  EXPECT_EQ(llama3.token_to_id("<|eot_id|>"), 128009);
  EXPECT_EQ(llama3.id_to_token(128009), "<|eot_id|>");
  EXPECT_EQ(llama3.token_to_id("Hello"), 9906);

  const Tokenizer& qwen3 = tokenizer_at(test::shared_dir() / "tokenizers" / "qwen3");
  EXPECT_FALSE(qwen3.bos_id.has_value());
  EXPECT_EQ(qwen3.eos_token, "<|im_end|>");
  EXPECT_EQ(qwen3.eos_id, 151645);
  EXPECT_FALSE(qwen3.add_bos);
  EXPECT_EQ(qwen3.vocab_size(), 151669);

  const Tokenizer& spm = tokenizer_at(test::shared_dir() / "tokenizers" / "spm-bpe-32k");
  EXPECT_TRUE(spm.add_bos);
  EXPECT_EQ(spm.bos_id, 1);
  EXPECT_EQ(spm.eos_id, 2);
  EXPECT_EQ(spm.vocab_size(), 32000);
  EXPECT_THROW(spm.id_to_token(32000), Error);
  EXPECT_THROW(spm.id_to_token(-1), Error);
}

TEST(HfTokenizerGolden, SpecialTokenStringsBecomeTheirIds) {
  const Tokenizer& llama3 = tokenizer_at(test::shared_dir() / "tokenizers" / "llama3");
  const auto ids = llama3.encode("<|start_header_id|>user<|end_header_id|>\n\nHello world<|eot_id|>");
  const std::vector<int32_t> expected{128006, 882, 128007, 271, 9906, 1917, 128009};
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(llama3.decode(ids), "<|start_header_id|>user<|end_header_id|>\n\nHello world<|eot_id|>");

  const Tokenizer& spm = tokenizer_at(test::shared_dir() / "tokenizers" / "spm-bpe-32k");
  // Text after an added token is normalized on its own (Prepend adds "▁" again), as in HF.
  const std::vector<int32_t> hello_world{22557, 1526};
  auto with_bos = spm.encode("<s>Hello world");
  ASSERT_FALSE(with_bos.empty());
  EXPECT_EQ(with_bos[0], 1);
  EXPECT_EQ(std::vector<int32_t>(with_bos.begin() + 1, with_bos.end()), hello_world);
}

TEST(HfTokenizerGolden, ConcurrentEncodesAgreeWithSequentialOnes) {
  // encode() is const and shares the word cache between threads: results must not depend on it.
  const Tokenizer& tok = tokenizer_at(test::shared_dir() / "tokenizers" / "qwen3");
  std::ifstream in(test::shared_dir() / "models" / "kjv-llama" / "kjv_eval.txt");
  const std::string kjv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(kjv.size(), 40000u);
  std::vector<std::string> chunks;
  for (size_t i = 0; i < 4; ++i) chunks.push_back(kjv.substr(i * 10000, 10000));
  std::vector<std::vector<int32_t>> results(chunks.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < chunks.size(); ++i)
    threads.emplace_back([&, i] {
      for (int round = 0; round < 5; ++round) results[i] = tok.encode(chunks[i]);
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(results[i], tok.encode(chunks[i]));
    EXPECT_EQ(tok.decode(results[i]), chunks[i]);
  }
}
