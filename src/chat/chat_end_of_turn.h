// The special token a chat template writes right after an assistant message (<|eot_id|>,
// <|im_end|>, </s>, ...): generation of a reply stops there.
#pragma once
#include <cstdint>
#include <optional>

#include "chat/chat_template.h"
#include "text/tokenizer.h"

namespace turbine {

// Renders a probe reply and returns the first added/special token (a vocabulary string of the form
// <...>) that follows it; nullopt when the template writes none or cannot render the probe.
std::optional<int32_t> chat_end_of_turn_token(const ChatTemplate& chat_template, const Tokenizer& tokenizer);

}  // namespace turbine
