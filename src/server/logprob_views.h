// The engine's logprobs (token ids) turned into what the API shows: each token's text as it
// reads in the output, or "token_id:N" (vLLM's return_tokens_as_token_ids).
#pragma once
#include <cstdint>
#include <string>

#include "engine/token_logprobs.h"
#include "server/openai_response.h"
#include "text/tokenizer.h"

namespace turbine::server {

// The text token `id` adds after `previous` (the id before it, -1 for none): decode([previous, id])
// minus decode([previous]), so SentencePiece's leading space stays with its word. A byte-fallback
// token ("<0xE2>") is its raw byte, which may be part of a UTF-8 character.
std::string token_piece(const Tokenizer& tokenizer, int32_t previous, int32_t id);

// One step's view; `previous` is the id before the generated token, `text_offset` the bytes of
// the choice's text before it.
LogprobStep logprob_step(const Tokenizer& tokenizer, const TokenLogprobs& logprobs, int32_t previous, bool as_ids,
                         size_t text_offset);

}  // namespace turbine::server
