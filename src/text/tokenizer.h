// Text <-> ids. Implementations: SentencePiece (tokenizer.model, through libsentencepiece) and
// tokenizer.json (byte-level BPE and SentencePiece-style BPE). load_tokenizer picks one.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer_config.h"

namespace turbine {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Ids of `text` without BOS. Added/special-token strings in the text become their single ids.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // Text of `ids` with special tokens written out (HF decode(skip_special_tokens=False,
  // clean_up_tokenization_spaces=False)).
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
  virtual int32_t vocab_size() const = 0;
  // Id of a token by its exact vocabulary string (e.g. "<|eot_id|>"), if it has one.
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // The vocabulary string of an id (throws Error when out of range).
  virtual std::string id_to_token(int32_t id) const = 0;
  // The bytes an id adds to the text when it follows other tokens (SentencePiece's '▁' as a space,
  // a byte-fallback "<0xNN>" as its one byte, a byte-level BPE token as its bytes, which may be part
  // of a UTF-8 character). Empty for added, control and unknown tokens: they stand for no text of
  // their own. Guided decoding matches tokens by these bytes. Throws Error when out of range.
  virtual std::string token_bytes(int32_t id) const = 0;

  // Ids of a prompt: BOS first when the tokenizer's config adds it, then encode(text).
  std::vector<int32_t> encode_prompt(std::string_view text) const;

  // From the model's own files (tokenizer_config.json, tokenizer.json / tokenizer.model).
  std::optional<int32_t> bos_id;
  std::optional<int32_t> eos_id;
  bool add_bos = false;  // whether prompts start with BOS (tokenizer_config add_bos_token)
  std::string bos_token, eos_token;
  // The folder's tokenizer_config.json as read once (the chat template's special tokens come from it).
  TokenizerConfig config;
};

// Loads the tokenizer of a model (or tokenizer-only) folder. tokenizer.json is preferred over
// tokenizer.model when both exist, as transformers' fast tokenizers do. Throws Error when neither
// is present or a file is malformed.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir);

}  // namespace turbine
