// Splits a template into text and tag tokens, applying jinja2's whitespace rules as transformers
// configures them: trim_blocks, lstrip_blocks, `-`/`+` markers, and a single trailing newline dropped.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace turbine::jinja {

enum class TokenType { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, Eof };

struct Token {
  TokenType type;
  std::string text;  // data, name, operator, or the decoded string literal
  int64_t int_value = 0;
  double float_value = 0;
  size_t offset = 0;  // into the normalized source, for line/column in errors
};

// Where an offset lies, 1-based, for messages.
struct SourcePos {
  int line = 1, column = 1;
};

class SourceMap {
 public:
  explicit SourceMap(const std::string& source);
  SourcePos at(size_t offset) const;

 private:
  std::vector<size_t> line_starts_;
};

// Newlines normalized to \n, the trailing newline removed (keep_trailing_newline=False).
std::string normalize_template_source(const std::string& source);

// Throws Error("line L, column C: ...") on malformed tags.
std::vector<Token> tokenize_template(const std::string& normalized_source);

// Throws Error with the template position.
[[noreturn]] void fail_at(const SourceMap& map, size_t offset, const std::string& message);

}  // namespace turbine::jinja
