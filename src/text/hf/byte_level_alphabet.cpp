#include "text/hf/byte_level_alphabet.h"

#include "core/utf8.h"

namespace turbine::hf {

ByteLevelAlphabet::ByteLevelAlphabet() {
  char_to_byte_.fill(-1);
  auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); };
  char32_t next_extra = 256;
  for (int b = 0; b < 256; ++b) {
    const char32_t cp = printable(b) ? static_cast<char32_t>(b) : next_extra++;
    append_utf8(byte_to_text_[b], cp);
    char_to_byte_[cp] = static_cast<int16_t>(b);
  }
}

}  // namespace turbine::hf
