// A compiled PCRE2 pattern (UTF + Unicode properties, JIT when available) used by the Split
// pre-tokenizer and the Replace normalizer/decoder. HF compiles these with Oniguruma; for the
// patterns tokenizer.json files use (\p{L}, \p{N}, \s, (?i:...), lookahead) PCRE2 with PCRE2_UCP
// matches the same text.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/hf/function_ref.h"

namespace turbine::hf {

struct TextSpan {
  size_t begin = 0, end = 0;
};

class PcreRegex {
 public:
  // Throws Error naming `where` (file and field) when the pattern does not compile.
  PcreRegex(const std::string& pattern, const std::string& where);
  // Same, but matching `literal` exactly.
  static PcreRegex literal(std::string_view literal, const std::string& where);
  ~PcreRegex();
  PcreRegex(PcreRegex&&) noexcept;
  PcreRegex& operator=(PcreRegex&&) noexcept;

  // Every non-overlapping match, left to right (empty matches advance by one character).
  // `text` must be valid UTF-8.
  std::vector<TextSpan> find_all(std::string_view text) const;
  // The same matches, streamed to `visit`.
  void for_each_match(std::string_view text, FunctionRef<void(TextSpan)> visit) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

// A tokenizer.json pattern object: {"Regex": "..."} or {"String": "..."} (matched literally).
PcreRegex pattern_from_json(const nlohmann::json& pattern, const std::string& where);

}  // namespace turbine::hf
