// The token stream that perplexity scores, by golden.json's rule: the text stripped of leading and
// trailing whitespace, split into chapters on blank lines ("\n\n"), each chapter as BOS + its ids.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "text/tokenizer.h"

namespace turbine {

std::vector<int32_t> perplexity_stream(std::string_view text, const Tokenizer& tokenizer, int32_t bos_id);

}  // namespace turbine
