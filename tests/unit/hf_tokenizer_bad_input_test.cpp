// tokenizer.json tokenizers on bad input: invalid UTF-8 (repaired like Python's errors="replace"),
// empty text, a megabyte of one character, and malformed tokenizer.json files (clear errors).
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"
#include "text/hf_tokenizer.h"
#include "support/test_paths.h"

using namespace turbine;
using nlohmann::json;

namespace {

const Tokenizer& llama3() {
  static const auto tok = load_hf_tokenizer(test::shared_dir() / "tokenizers" / "llama3");
  return *tok;
}
const Tokenizer& spm() {
  static const auto tok = load_hf_tokenizer(test::shared_dir() / "tokenizers" / "spm-bpe-32k");
  return *tok;
}

// A scratch folder holding one tokenizer.json with the given text.
class ScratchTokenizerDir {
 public:
  explicit ScratchTokenizerDir(const std::string& contents)
      : dir_(std::filesystem::temp_directory_path() /
             ("turbine_bad_tok_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++))) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "tokenizer.json") << contents;
  }
  ~ScratchTokenizerDir() { std::filesystem::remove_all(dir_); }
  const std::filesystem::path& path() const { return dir_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
};

// A small valid byte-level BPE tokenizer.json to break in different ways.
json tiny_spec() {
  return json::parse(R"({
    "version": "1.0", "added_tokens": [], "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
    "post_processor": null, "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3}, "merges": ["a b"]}
  })");
}

// The error message of loading `contents`, or "" when it loads.
std::string load_error(const std::string& contents) {
  ScratchTokenizerDir dir(contents);
  try {
    load_hf_tokenizer(dir.path());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(HfTokenizerBadInput, InvalidUtf8IsRepairedLikePythonReplace) {
  // Expected strings are Python's bytes.decode("utf-8", errors="replace").
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xE2\x82"
       "a",
       fffd + "a"},
      {"\xF0\x9F\x98", fffd},
      {"\xED\xA0\x80", fffd + fffd + fffd},  // surrogate
      {"\xC0\xAF", fffd + fffd},             // overlong
      {"\xFF", fffd},
      {"a\x80\x80"
       "b",
       "a" + fffd + fffd + "b"},
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
      {"\xE0\x80\xAF", fffd + fffd + fffd},
      {"\xF0\x9F\x98\x80\xF0\x9F", "\xF0\x9F\x98\x80" + fffd},
  };
  for (const auto& [bad, repaired] : cases) {
    EXPECT_FALSE(is_valid_utf8(bad));
    EXPECT_EQ(to_valid_utf8(bad), repaired);
    for (const Tokenizer* tok : {&llama3(), &spm()}) {
      const auto ids = tok->encode(bad);
      EXPECT_EQ(ids, tok->encode(repaired));
      EXPECT_EQ(tok->decode(ids), repaired);
    }
  }
  EXPECT_TRUE(is_valid_utf8("plain \xE4\xB8\xAD \xF0\x9F\x98\x80"));
}

TEST(HfTokenizerBadInput, DecodeRepairsPartialCharactersAndSkipsUnknownIds) {
  // "🙂" is three byte-level tokens in Llama 3; alone, the first is an incomplete UTF-8 sequence.
  const auto ids = llama3().encode("\xF0\x9F\x99\x82");
  ASSERT_GT(ids.size(), 1u);
  EXPECT_EQ(llama3().decode(std::vector<int32_t>{ids[0]}), "\xEF\xBF\xBD");
  EXPECT_EQ(llama3().decode(std::vector<int32_t>{9906, -5, 1'000'000, 1917}), "Hello world");
}

TEST(HfTokenizerBadInput, EmptyTextHasNoIds) {
  EXPECT_TRUE(llama3().encode("").empty());
  EXPECT_TRUE(spm().encode("").empty());
  EXPECT_EQ(llama3().decode({}), "");
}

TEST(HfTokenizerBadInput, MegabyteOfOneCharacterIsNotQuadratic) {
  // One pre-tokenized word of 1 MB: the heap-based merge loop is O(n log n) (about 0.3 s here;
  // a quadratic one would take minutes). Checks the result, not the time.
  const std::string a(1 << 20, 'a');
  const auto ids = llama3().encode(a);
  ASSERT_FALSE(ids.empty());
  EXPECT_TRUE(llama3().decode(ids) == a);
  std::string breaks;
  while (breaks.size() < (1u << 20)) breaks += " \n\t";
  EXPECT_TRUE(llama3().decode(llama3().encode(breaks)) == breaks);
  // SentencePiece style: no pre-tokenizer, so the whole text is one word.
  const std::string spaces(1 << 20, ' ');
  const auto spm_ids = spm().encode(spaces);
  EXPECT_FALSE(spm_ids.empty());
  EXPECT_TRUE(spm().decode(spm_ids) == spaces);
}

TEST(HfTokenizerBadInput, MissingFileNamesIt) {
  try {
    load_hf_tokenizer(test::shared_dir() / "no-such-folder");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-folder/tokenizer.json"), std::string::npos) << e.what();
  }
}

TEST(HfTokenizerBadInput, TinySpecLoads) {
  ScratchTokenizerDir dir(tiny_spec().dump());
  const auto tok = load_hf_tokenizer(dir.path());
  EXPECT_EQ(tok->encode("ab a"), (std::vector<int32_t>{2, 3, 0}));
  EXPECT_EQ(tok->decode(std::vector<int32_t>{2, 3, 0}), "ab a");
}

TEST(HfTokenizerBadInput, MalformedFilesGiveErrorsNamingFileAndField) {
  const std::string full = tiny_spec().dump();
  struct Case {
    std::string contents, expected;
  };
  std::vector<Case> cases;
  cases.push_back({full.substr(0, full.size() / 2), "not valid JSON"});
  cases.push_back({"[1, 2]", "expected a JSON object"});
  {
    json spec = tiny_spec();
    spec.erase("model");
    cases.push_back({spec.dump(), "missing field \"model\""});
  }
  {
    json spec = tiny_spec();
    spec["model"]["type"] = "Unigram";
    cases.push_back({spec.dump(), "model.type: unsupported model type \"Unigram\""});
  }
  {
    json spec = tiny_spec();
    spec["model"].erase("vocab");
    cases.push_back({spec.dump(), "model.vocab: missing"});
  }
  {
    json spec = tiny_spec();
    spec["model"]["vocab"]["a"] = "zero";
    cases.push_back({spec.dump(), "model.vocab[\"a\"]"});
  }
  {
    json spec = tiny_spec();
    spec["model"]["merges"] = json::array({"a b c"});
    cases.push_back({spec.dump(), "model.merges[0]: expected \"left right\""});
  }
  {
    json spec = tiny_spec();
    spec["model"]["merges"] = json::array({"a z"});
    cases.push_back({spec.dump(), "model.merges[0]: token \"z\" is not in the vocabulary"});
  }
  {
    json spec = tiny_spec();
    spec["model"]["merges"] = json::array({json::array({"b", "a"})});
    cases.push_back({spec.dump(), "model.merges[0]: merged token \"ba\" is not in the vocabulary"});
  }
  {
    json spec = tiny_spec();
    spec["model"]["merges"] = json::array({42});
    cases.push_back({spec.dump(), "model.merges[0]"});
  }
  {
    json spec = tiny_spec();
    spec["model"]["unk_token"] = "<unk>";
    cases.push_back({spec.dump(), "model.unk_token: \"<unk>\" is not in the vocabulary"});
  }
  {
    json spec = tiny_spec();
    spec["normalizer"] = {{"type", "Precompiled"}};
    cases.push_back({spec.dump(), "normalizer.type: unsupported normalizer \"Precompiled\""});
  }
  {
    json spec = tiny_spec();
    spec["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
    cases.push_back({spec.dump(), "pre_tokenizer.pattern.Regex: bad regex"});
  }
  {
    json spec = tiny_spec();
    spec["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "x"}}}, {"behavior", "Sideways"}};
    cases.push_back({spec.dump(), "pre_tokenizer.behavior: unknown split behavior \"Sideways\""});
  }
  {
    json spec = tiny_spec();
    spec["decoder"] = {{"type", "WordPiece"}};
    cases.push_back({spec.dump(), "decoder.type: unsupported decoder \"WordPiece\""});
  }
  {
    json spec = tiny_spec();
    spec["added_tokens"] = json::array({{{"id", 9}, {"special", true}}});
    cases.push_back({spec.dump(), "added_tokens[0].content: missing"});
  }
  for (const Case& c : cases) {
    const std::string message = load_error(c.contents);
    EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << "no file name in: " << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << "expected \"" << c.expected << "\" in: " << message;
  }
}

TEST(HfTokenizerBadInput, BadTokenizerConfigNamesIt) {
  ScratchTokenizerDir dir(tiny_spec().dump());
  std::ofstream(dir.path() / "tokenizer_config.json") << R"({"bos_token": 5})";
  try {
    load_hf_tokenizer(dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json: field \"bos_token\""), std::string::npos) << e.what();
  }
  std::ofstream(dir.path() / "tokenizer_config.json") << R"({"bos_token": "a", "add_bos_token": true)";
  EXPECT_THROW(load_hf_tokenizer(dir.path()), Error);
  std::ofstream(dir.path() / "tokenizer_config.json") << R"({"bos_token": null, "add_bos_token": true})";
  try {
    load_hf_tokenizer(dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no bos_token"), std::string::npos) << e.what();
  }
  std::ofstream(dir.path() / "tokenizer_config.json") << R"({"bos_token": "<nope>", "add_bos_token": true})";
  EXPECT_THROW(load_hf_tokenizer(dir.path()), Error);
  std::ofstream(dir.path() / "tokenizer_config.json") << R"({"bos_token": {"content": "b"}, "add_bos_token": true})";
  const auto tok = load_hf_tokenizer(dir.path());
  EXPECT_EQ(tok->bos_id, 1);
  EXPECT_TRUE(tok->add_bos);
}
