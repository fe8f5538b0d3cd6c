// UTF-8 helpers shared by the tokenizers, the streaming detokenizer and the chat templates:
// validation, lossy repair, code-point walking and whole-string decoding.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace turbine {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Byte length of the UTF-8 sequence that starts with `lead` (1 for stray bytes, so walks never stall).
inline size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

// Decodes the code point at s[pos] (s must be valid UTF-8) and advances pos past it.
char32_t next_code_point(std::string_view s, size_t& pos);
void append_utf8(std::string& out, char32_t cp);

// Length of the valid UTF-8 sequence starting at s[pos], or 0 when the bytes there are not one.
size_t valid_sequence_length(std::string_view s, size_t pos);
bool is_valid_utf8(std::string_view s);
// Code points of s, as Python strings index, slice and measure them. Invalid bytes decode as
// themselves (U+0080..U+00FF), so nothing is lost or thrown.
std::u32string utf8_decode(const std::string& s);
std::string utf8_encode(const std::u32string& s);

// Replaces each maximal invalid subpart with U+FFFD, as Python's errors="replace" and Rust's
// String::from_utf8_lossy do.
std::string to_valid_utf8(std::string_view s);

}  // namespace turbine
