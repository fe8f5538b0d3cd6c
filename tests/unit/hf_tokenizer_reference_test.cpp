// tokenizer.json tokenizers against HF tokenizers 0.23.2 on many more texts and configurations
// (tests/data/hf_tokenizer_refs.json, made by tests/data/make_hf_tokenizer_refs.js): the three real
// tokenizers on tricky, scripture and random texts, plus variants of them that exercise other
// normalizers, pre-tokenizers, split behaviors, Metaspace and added-token flags.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "text/hf_tokenizer.h"
#include "support/test_paths.h"

using namespace turbine;
using nlohmann::json;

namespace {

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// The variant's tokenizer: its base folder as is, or the base tokenizer.json with the patch applied,
// written to a temporary folder.
std::unique_ptr<Tokenizer> load_variant(const json& variant, const std::filesystem::path& scratch) {
  const auto base_dir = test::shared_dir() / "tokenizers" / variant.at("base").get<std::string>();
  if (variant.at("patch").empty()) return load_hf_tokenizer(base_dir);
  json spec = read_json(base_dir / "tokenizer.json");
  // Top-level keys replace the file's; "model.<field>" keys replace one field of the model.
  for (auto it = variant.at("patch").begin(); it != variant.at("patch").end(); ++it) {
    if (it.key().starts_with("model.")) {
      spec["model"][it.key().substr(6)] = it.value();
    } else {
      spec[it.key()] = it.value();
    }
  }
  std::filesystem::create_directories(scratch);
  std::ofstream(scratch / "tokenizer.json") << spec.dump();
  return load_hf_tokenizer(scratch);
}

std::string show(const std::string& text) { return json(text).dump(); }

}  // namespace

TEST(HfTokenizerReference, AllVariantsMatchHuggingFaceTokenizers) {
  const json refs = read_json(test::source_dir() / "tests" / "data" / "hf_tokenizer_refs.json");
  const auto scratch_root = std::filesystem::temp_directory_path() / ("turbine_hf_refs_" + std::to_string(::getpid()));
  ASSERT_GE(refs.at("variants").size(), 10u);
  for (const json& variant : refs.at("variants")) {
    const std::string name = variant.at("name").get<std::string>();
    SCOPED_TRACE(name);
    const auto tok = load_variant(variant, scratch_root / name);
    int failures = 0;
    for (const json& c : variant.at("encode")) {
      const std::string text = c.at("text").get<std::string>();
      const auto expected = c.at("ids").get<std::vector<int32_t>>();
      const auto ids = tok->encode(text);
      if (ids != expected && failures++ < 5)
        ADD_FAILURE() << name << ": encode(" << show(text) << ") = " << json(ids).dump() << ", HF "
                      << json(expected).dump();
    }
    for (const json& c : variant.at("decode")) {
      const auto ids = c.at("ids").get<std::vector<int32_t>>();
      const std::string expected = c.at("text").get<std::string>();
      const std::string text = tok->decode(ids);
      if (text != expected && failures++ < 10)
        ADD_FAILURE() << name << ": decode(" << json(ids).dump() << ") = " << show(text) << ", HF " << show(expected);
    }
    EXPECT_EQ(failures, 0) << name;
  }
  std::filesystem::remove_all(scratch_root);
}
