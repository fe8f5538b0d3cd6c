// GPT-2's reversible byte <-> printable character map used by ByteLevel pre-tokenizer and decoder:
// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace turbine::hf {

class ByteLevelAlphabet {
 public:
  ByteLevelAlphabet();
  // UTF-8 of the character standing for `byte`.
  const std::string& encode(unsigned char byte) const { return byte_to_text_[byte]; }
  // The byte a code point stands for, or -1 when it is not in the alphabet.
  int decode(char32_t cp) const { return cp < char_to_byte_.size() ? char_to_byte_[cp] : -1; }

 private:
  std::array<std::string, 256> byte_to_text_;
  std::array<int16_t, 324> char_to_byte_;
};

}  // namespace turbine::hf
