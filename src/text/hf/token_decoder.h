// tokenizer.json "decoder": turns token strings back into text (ByteLevel; Replace, ByteFallback,
// Fuse, Strip for the SentencePiece style; Metaspace; Sequence), as HF's decode_chain does.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace turbine::hf {

class TokenDecoder {
 public:
  virtual ~TokenDecoder() = default;
  // Rewrites the list of token strings (may merge them); the caller concatenates the result.
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
  // Rewrites one token string into the bytes it adds in the middle of a text: no stripping at the
  // text's start, no U+FFFD repair of a partial UTF-8 character (guided decoding needs raw bytes).
  virtual void to_token_bytes(std::string& token) const = 0;
};

// nullptr for a null spec (HF then joins tokens with spaces).
std::unique_ptr<TokenDecoder> make_token_decoder(const nlohmann::json& spec, const std::string& where);

}  // namespace turbine::hf
