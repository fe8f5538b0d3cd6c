// The prompt ids of a chat turn that keep the conversation's cached ids. Re-tokenizing the whole
// rendered conversation would split the previous reply differently than the model generated it,
// so the session could reuse only the earlier prompt; instead the ids already in the cache are kept
// as far as their text still spells the new rendering, and only the rest is encoded.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "text/tokenizer.h"

namespace turbine {

struct ChatPromptIds {
  std::vector<int32_t> ids;  // the whole prompt of the turn
  size_t kept = 0;           // leading ids taken over from the history
};

// `history`: the conversation's ids as the cache holds them (the previous prompt + the ids the
// model generated, the stop id that ended the reply included). `rendered`: the template's rendering
// of the conversation with the new message. Keeps the longest prefix of `history` whose decode is a
// prefix of `rendered` and appends the encoding of the remaining text. The remaining text is
// encoded on its own; where that run starts mid-text and the tokenizer would prepend a word-start
// mark (SentencePiece's dummy "▁"), it is encoded after a "\n" anchor instead, whose ids are then
// dropped. The result always decodes as `rendered` (or as its full encoding does); when no
// candidate does, the rendering is
// encoded in full (the engine then still reuses the common token prefix).
ChatPromptIds chat_prompt_ids(const Tokenizer& tokenizer, std::span<const int32_t> history, std::string_view rendered);

}  // namespace turbine
