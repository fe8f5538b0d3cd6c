#include "server/logprob_views.h"

#include <fmt/format.h>

#include <vector>

namespace turbine::server {

namespace {

// "<0xNN>": SentencePiece's byte-fallback spelling of a single byte.
std::optional<char> byte_token(const std::string& piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece.back() != '>') return std::nullopt;
  unsigned value = 0;
  for (char c : piece.substr(3, 2)) {
    const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                      : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                      : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                                                                  : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + unsigned(digit);
  }
  return char(value);
}

}  // namespace

std::string token_piece(const Tokenizer& tokenizer, int32_t previous, int32_t id) {
  if (id < 0 || id >= tokenizer.vocab_size()) return "";
  if (const auto byte = byte_token(tokenizer.id_to_token(id))) return std::string(1, *byte);
  if (previous < 0 || previous >= tokenizer.vocab_size()) return tokenizer.decode(std::vector<int32_t>{id});
  const std::string head = tokenizer.decode(std::vector<int32_t>{previous});
  const std::string both = tokenizer.decode(std::vector<int32_t>{previous, id});
  if (both.starts_with(head)) return both.substr(head.size());
  return tokenizer.decode(std::vector<int32_t>{id});
}

LogprobStep logprob_step(const Tokenizer& tokenizer, const TokenLogprobs& logprobs, int32_t previous, bool as_ids,
                         size_t text_offset) {
  const auto view = [&](const TokenLogprob& t) {
    return TokenLogprobView{as_ids ? fmt::format("token_id:{}", t.id) : token_piece(tokenizer, previous, t.id),
                            t.logprob, t.id};
  };
  LogprobStep step;
  step.chosen = view(logprobs.chosen);
  for (const TokenLogprob& t : logprobs.top) step.top.push_back(view(t));
  step.text_offset = text_offset;
  return step;
}

}  // namespace turbine::server
