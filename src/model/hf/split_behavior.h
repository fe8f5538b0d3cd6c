// How a pattern's matches cut a string (HF SplitDelimiterBehavior), shared by the pre-tokenizers.
#pragma once
#include <string>
#include <vector>

#include "model/hf/pcre_regex.h"

namespace turbine::hf {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Parses "Removed", "Isolated", ... (throws Error naming `where`).
SplitBehavior parse_split_behavior(const std::string& name, const std::string& where);

// The pieces of a text of `length` bytes given the pattern's `matches`; `invert` swaps which
// spans count as matches. Empty pieces are left out.
std::vector<TextSpan> split_by_matches(const std::vector<TextSpan>& matches, size_t length,
                                       SplitBehavior behavior, bool invert);

}  // namespace turbine::hf
