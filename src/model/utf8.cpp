#include "model/utf8.h"

#include <cstdint>

namespace turbine {

namespace {

// Bytes in a sequence that starts with lead byte `c` (0 for an invalid lead byte).
int sequence_length(uint8_t c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

}  // namespace

bool utf8_valid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = uint8_t(s[i]);
    const int n = sequence_length(c);
    if (n == 0 || i + n > s.size()) return false;
    for (int k = 1; k < n; ++k)
      if ((uint8_t(s[i + k]) & 0xC0) != 0x80) return false;
    if (n >= 3) {
      const uint8_t c1 = uint8_t(s[i + 1]);
      if (c == 0xE0 && c1 < 0xA0) return false;  // overlong
      if (c == 0xED && c1 >= 0xA0) return false;  // surrogate
      if (c == 0xF0 && c1 < 0x90) return false;  // overlong
      if (c == 0xF4 && c1 >= 0x90) return false;  // past U+10FFFF
    }
    i += n;
  }
  return true;
}

size_t utf8_complete_prefix(std::string_view s) {
  // Walk back over at most 3 continuation bytes to the last lead byte.
  size_t i = s.size();
  int continuation = 0;
  while (i > 0 && continuation < 4 && (uint8_t(s[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++continuation;
  }
  if (i == 0) return s.size();
  const int n = sequence_length(uint8_t(s[i - 1]));
  if (n > 1 && continuation < n - 1) return i - 1;  // the last character is cut short
  return s.size();
}

}  // namespace turbine
