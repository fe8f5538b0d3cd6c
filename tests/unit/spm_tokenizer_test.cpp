// SentencePiece tokenizer against the llama2-spm goldens and HF's legacy Llama rules.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/tokenizer.h"
#include "support/test_paths.h"

using namespace turbine;

namespace {

nlohmann::json golden() {
  std::ifstream in(test::shared_dir() / "golden" / "golden.json");
  return nlohmann::json::parse(in);
}

const Tokenizer& kjv_tokenizer() {
  static std::unique_ptr<Tokenizer> tok = load_tokenizer(test::shared_dir() / "models" / "kjv-llama");
  return *tok;
}

}  // namespace

TEST(SpmTokenizer, EncodesEveryGoldenText) {
  const auto cases = golden()["llama2-spm"];
  ASSERT_GE(cases.size(), 20u);
  for (const auto& c : cases) {
    const auto text = c["text"].get<std::string>();
    EXPECT_EQ(kjv_tokenizer().encode(text), c["ids"].get<std::vector<int32_t>>()) << text;
  }
}

TEST(SpmTokenizer, DecodesEveryGoldenBack) {
  for (const auto& c : golden()["llama2-spm"]) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(kjv_tokenizer().decode(ids), c["text"].get<std::string>());
  }
}

TEST(SpmTokenizer, SpecialTokenStringsBecomeSingleIdsAndPiecesEncodeAlone) {
  const auto& tok = kjv_tokenizer();
  // "Hello <s>." -> "Hello " then <s> then "." encoded on its own (dummy prefix: "▁." = 869).
  EXPECT_EQ(tok.encode("Hello <s>."), (std::vector<int32_t>{15043, 29871, 1, 869}));
  EXPECT_EQ(tok.encode("</s><unk>"), (std::vector<int32_t>{2, 0}));
}

TEST(SpmTokenizer, ChatRenderingRoundTrips) {
  // The kjv-llama chat goldens: special strings in the rendered text become ids, and decoding the
  // ids gives the rendered text back (runs between special tokens are decoded on their own).
  for (const auto& c : golden()["kjv-llama-chat"]) {
    if (!c.contains("rendered")) continue;
    const auto rendered = c["rendered"].get<std::string>();
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(kjv_tokenizer().encode(rendered), ids) << rendered;
    EXPECT_EQ(kjv_tokenizer().decode(ids), rendered);
  }
}

TEST(SpmTokenizer, DecodeWritesSpecialTokensOut) {
  const auto& tok = kjv_tokenizer();
  EXPECT_EQ(tok.decode(std::vector<int32_t>{1, 15043, 3186, 2}), "<s>Hello world</s>");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{15043, 2, 3186}), "Hello</s>world");
}

TEST(SpmTokenizer, ByteFallbackRunsAndInvalidBytes) {
  const auto& tok = kjv_tokenizer();
  // "词" is not in the vocabulary: three byte pieces <0xE8><0xAF><0x8D>.
  auto ids = tok.encode("词");
  ASSERT_EQ(ids.size(), 4u);  // "▁" + 3 bytes
  EXPECT_EQ(tok.id_to_token(ids[1]), "<0xE8>");
  EXPECT_EQ(tok.decode(ids), "词");
  // A cut-short character becomes one U+FFFD per byte token, as HF's ByteFallback decoder does.
  EXPECT_EQ(tok.decode(std::span<const int32_t>(ids).first(3)), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(SpmTokenizer, VocabularyLookups) {
  const auto& tok = kjv_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 32000);
  EXPECT_EQ(tok.token_to_id("<s>"), 1);
  EXPECT_EQ(tok.token_to_id("▁Hello"), 15043);
  EXPECT_EQ(tok.token_to_id("<unk>"), 0);
  EXPECT_FALSE(tok.token_to_id("no-such-piece-xyz").has_value());
  EXPECT_EQ(tok.id_to_token(15043), "▁Hello");
  EXPECT_THROW(tok.id_to_token(32000), Error);
  EXPECT_THROW(tok.decode(std::vector<int32_t>{-1}), Error);
}

TEST(TokenizerLoader, FillsSpecialTokensFromConfig) {
  const auto& tok = kjv_tokenizer();
  EXPECT_EQ(tok.bos_id, 1);
  EXPECT_EQ(tok.eos_id, 2);
  EXPECT_TRUE(tok.add_bos);
  EXPECT_EQ(tok.bos_token, "<s>");
  EXPECT_EQ(tok.eos_token, "</s>");
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("turbine-tok-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }

 private:
  std::filesystem::path path_;
};

TEST(TokenizerLoader, ConfigAddedTokensAndDictSpecialTokens) {
  TempDir dir;
  std::filesystem::copy_file(test::shared_dir() / "models/kjv-llama/tokenizer.model", dir.path() / "tokenizer.model");
  dir.write("tokenizer_config.json", R"({
    "add_bos_token": false,
    "bos_token": {"content": "<s>", "lstrip": false},
    "eos_token": {"content": "<|end|>"},
    "added_tokens_decoder": {"32000": {"content": "<|end|>", "special": true},
                             "32001": {"content": "<pad>", "rstrip": true}}
  })");
  auto tok = load_tokenizer(dir.path());
  EXPECT_FALSE(tok->add_bos);
  EXPECT_EQ(tok->bos_id, 1);
  EXPECT_EQ(tok->eos_id, 32000);
  EXPECT_EQ(tok->eos_token, "<|end|>");
  EXPECT_EQ(tok->vocab_size(), 32002);
  EXPECT_EQ(tok->encode("Hello<|end|>"), (std::vector<int32_t>{15043, 32000}));
  EXPECT_EQ(tok->encode("<pad>  Hello"), (std::vector<int32_t>{32001, 15043}));  // rstrip eats the spaces
  EXPECT_EQ(tok->decode(std::vector<int32_t>{15043, 32000}), "Hello<|end|>");
  EXPECT_EQ(tok->id_to_token(32001), "<pad>");
}

TEST(TokenizerLoader, ErrorsNameTheFolderOrFile) {
  TempDir dir;
  try {
    load_tokenizer(dir.path());
    FAIL() << "no tokenizer files should be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_tokenizer(dir.path() / "missing"), Error);
  dir.write("tokenizer.model", "not a sentencepiece model");
  try {
    load_tokenizer(dir.path());
    FAIL() << "a corrupt tokenizer.model should be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos) << e.what();
  }
  std::filesystem::copy_file(test::shared_dir() / "models/kjv-llama/tokenizer.model", dir.path() / "tokenizer.model",
                             std::filesystem::copy_options::overwrite_existing);
  dir.write("tokenizer_config.json", "{ not json");
  try {
    load_tokenizer(dir.path());
    FAIL() << "a corrupt tokenizer_config.json should be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
  }
}
