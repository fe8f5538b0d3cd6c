#include "engine/perplexity_stream.h"

namespace turbine {

namespace {

// Python's str.strip() over ASCII whitespace (the texts we score are ASCII-spaced).
std::string_view strip(std::string_view s) {
  constexpr std::string_view space = " \t\n\r\f\v";
  const size_t begin = s.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

}  // namespace

std::vector<int32_t> perplexity_stream(std::string_view raw, const Tokenizer& tokenizer, int32_t bos_id) {
  const std::string_view text = strip(raw);
  std::vector<int32_t> stream;
  size_t start = 0;
  while (true) {
    const size_t end = text.find("\n\n", start);
    const auto chapter = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    stream.push_back(bos_id);
    const auto ids = tokenizer.encode(chapter);
    stream.insert(stream.end(), ids.begin(), ids.end());
    if (end == std::string_view::npos) break;
    start = end + 2;
  }
  return stream;
}

}  // namespace turbine
