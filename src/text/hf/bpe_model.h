// The tokenizer.json "model" of type BPE: vocabulary, merges by rank, byte fallback, unk handling
// and ignore_merges, with the same results as HF tokenizers' BPE::tokenize.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/hf/bpe_word_cache.h"
#include "text/hf/string_map.h"

namespace turbine::hf {

class BpeModel {
 public:
  // `spec` is tokenizer.json's "model"; errors name `where` (e.g. "<file>: model").
  BpeModel(const nlohmann::json& spec, const std::string& where);

  // Appends the ids of one pre-tokenized word. Merging is O(n log n) in the word's length.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // nullptr when the id has no vocabulary entry.
  const std::string* id_to_token(int32_t id) const;
  // Number of vocabulary entries (HF numbers new added tokens from here).
  int32_t vocab_count() const { return static_cast<int32_t>(vocab_.size()); }
  // Largest id in the vocabulary (-1 when empty).
  int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }

 private:
  struct MergeTarget {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  const MergeTarget* find_merge(int32_t left, int32_t right) const;
  void load_vocab(const nlohmann::json& vocab, const std::string& where);
  void load_merges(const nlohmann::json& merges, const std::string& where);
  // Initial symbols (characters, byte-fallback bytes, unk) of a word, before merging.
  std::vector<int32_t> initial_symbols(std::string_view word) const;
  void merge_symbols(std::vector<int32_t>& symbols) const;
  // Encodes a word that needs no further cutting (cache, ignore_merges, merges).
  void encode_unit(std::string_view word, std::vector<int32_t>& out) const;
  void detect_metaspace_boundaries();

  StringMap<int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_token_;
  std::unordered_map<uint64_t, MergeTarget> merges_;
  std::array<int32_t, 256> byte_fallback_ids_{};
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  // "▁" when words may be cut before each "▁" that follows another character (else empty).
  std::string metaspace_;
  mutable BpeWordCache cache_;
};

}  // namespace turbine::hf
