// Small UTF-8 helpers shared by tokenizers and the streaming detokenizer.
#pragma once
#include <string_view>

namespace turbine {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool utf8_valid(std::string_view s);

}  // namespace turbine
