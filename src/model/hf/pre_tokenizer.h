// tokenizer.json "pre_tokenizer": cuts normalized text into words that the model encodes one by
// one (Split with a regex, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, Sequence).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace turbine::hf {

struct Word {
  std::string text;
  // The word begins at offset 0 of the original input (Metaspace prepend_scheme "first").
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces each word by the words it splits into, in order; empty words are dropped.
  virtual void split(std::vector<Word>& words) const = 0;
};

// nullptr for a null spec (the whole normalized text is one word).
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec, const std::string& where);

}  // namespace turbine::hf
