// Tokenizer over a SentencePiece tokenizer.model (Llama 2 style), with Hugging Face's legacy
// LlamaTokenizer behaviour: special/added-token strings in the text become their single ids,
// and each text piece between them is encoded on its own (dummy prefix included).
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/hf/added_tokens.h"
#include "text/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace turbine {

class SpmTokenizer : public Tokenizer {
 public:
  // <dir>/tokenizer.model plus the added tokens that tokenizer_config.json declares. Throws Error
  // naming the file when it cannot be read.
  static std::unique_ptr<SpmTokenizer> load(const std::filesystem::path& dir, const TokenizerConfig& config);
  ~SpmTokenizer() override;

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  int32_t vocab_size() const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  std::string token_bytes(int32_t id) const override;

 private:
  SpmTokenizer();
  // A token matched verbatim in text and written verbatim when decoding (tokenizer_config.json's
  // added_tokens_decoder, SentencePiece's own control and unknown pieces); a later one with the same
  // id replaces the earlier.
  void add_token(int32_t id, std::string content, bool lstrip, bool rstrip);
  // Text of a run of ordinary pieces, as HF's decoder chain does it for one chunk between added
  // tokens: '▁' -> ' ', byte pieces fused (invalid UTF-8 runs -> U+FFFD per byte), one
  // leading space stripped.
  std::string decode_run(std::span<const int32_t> ids) const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::vector<hf::AddedToken> added_;
  std::unordered_map<int32_t, size_t> added_by_id_;  // id -> index in added_
  // The one added-token matcher (text/hf/added_tokens.h): leftmost-longest, lstrip/rstrip as HF.
  std::unique_ptr<hf::AddedTokenMatcher> matcher_;
  int32_t vocab_size_ = 0;
  bool strip_leading_space_ = true;  // the model adds a dummy prefix
};

}  // namespace turbine
