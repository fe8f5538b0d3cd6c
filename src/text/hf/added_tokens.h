// tokenizer.json "added_tokens": strings (special like "<|eot_id|>" or not) that are cut out of the
// text before the model sees it, with HF's matching rules: leftmost-longest, non-overlapping,
// single_word / lstrip / rstrip, and "normalized" tokens matched on the normalized text.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/hf/function_ref.h"
#include "text/hf/string_map.h"

namespace turbine::hf {

class Normalizer;

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
  // What decode() feeds the decoder: the normalized content for normalized tokens (so a
  // Prepend("▁") normalizer's "▁" turns back into a space), else the content (HF >= 0.23).
  std::string decode_text;
};

// One piece of text after added-token extraction: either an added token's id or plain text.
struct TextSegment {
  size_t begin = 0, end = 0;
  std::optional<int32_t> token;
};

// Finds one set of added tokens in text (a byte trie; tokens are few and short).
class AddedTokenMatcher {
 public:
  // `patterns[i]` is what to look for (the content, or its normalized form) for tokens[i].
  AddedTokenMatcher(const std::vector<const AddedToken*>& tokens, const std::vector<std::string>& patterns);
  // Splits `text` into plain and token segments covering it; never returns empty plain segments.
  std::vector<TextSegment> split(std::string_view text) const;
  bool empty() const { return tokens_.empty(); }

 private:
  struct Node {
    std::unordered_map<unsigned char, int32_t> children;
    int32_t token = -1;  // index into tokens_ when a pattern ends here
  };
  // Index of the longest pattern starting at `pos` and its length; -1 when none.
  int32_t longest_at(std::string_view text, size_t pos, size_t& length) const;

  std::vector<const AddedToken*> tokens_;
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

class AddedVocabulary {
 public:
  // Reads tokenizer.json's "added_tokens" array; `normalizer` (may be null) prepares the
  // patterns of tokens with normalized=true. Ids are given as HF gives them, whatever "id" the
  // file says: a content already in the model's vocabulary (`model_id`) keeps that id, the others
  // are numbered from `model_vocab_count` on, in file order.
  AddedVocabulary(const nlohmann::json& list, const Normalizer* normalizer,
                  FunctionRef<std::optional<int32_t>(std::string_view)> model_id, int32_t model_vocab_count,
                  const std::string& where);

  const AddedToken* find(int32_t id) const;
  std::optional<int32_t> find(std::string_view content) const;
  int32_t max_id() const;
  // Matchers for the raw text (normalized=false tokens) and the normalized text (the rest).
  const AddedTokenMatcher& raw_matcher() const { return *raw_; }
  const AddedTokenMatcher& normalized_matcher() const { return *normalized_; }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  StringMap<int32_t> by_content_;
  std::unique_ptr<AddedTokenMatcher> raw_, normalized_;
};

}  // namespace turbine::hf
