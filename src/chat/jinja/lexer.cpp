#include "chat/jinja/lexer.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/unicode.h"
#include "core/utf8.h"

namespace turbine::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit_char(char c) { return c >= '0' && c <= '9'; }

std::string rstrip_spaces(const std::string& s) {
  size_t end = s.size();
  while (end > 0 && is_space(s[end - 1])) --end;
  return s.substr(0, end);
}

// lstrip_blocks: drop spaces/tabs between the line start and a block or comment tag.
std::string lstrip_before_block(const std::string& text, bool line_starting) {
  size_t l_pos = text.rfind('\n');
  l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
  if (l_pos == 0 && !line_starting) return text;
  for (size_t i = l_pos; i < text.size(); ++i)
    if (!is_space(text[i])) return text;
  return text.substr(0, l_pos);
}

// Python's "unicode-escape" decoding of a string literal's body, as jinja2 does it.
std::string unescape_literal(const SourceMap& map, size_t offset, const std::string& body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out.push_back(c);
      continue;
    }
    char e = body[++i];
    auto hex = [&](int n) {
      uint32_t v = 0;
      for (int k = 0; k < n; ++k) {
        if (i + 1 >= body.size() || !std::isxdigit(static_cast<unsigned char>(body[i + 1])))
          fail_at(map, offset, "truncated \\x/\\u escape in a string literal");
        char h = body[++i];
        v = v * 16 + (is_digit_char(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      append_utf8(out, v);
    };
    switch (e) {
      case '\n': break;
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case 'x': hex(2); break;
      case 'u': hex(4); break;
      case 'U': hex(8); break;
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = e - '0';
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k)
            v = v * 8 + (body[++i] - '0');
          append_utf8(out, v);
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(const std::string& src) : src_(src), map_(src) {}

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t tag = find_tag(pos);
      if (tag == std::string::npos) {
        emit_data(src_.substr(pos), pos);
        break;
      }
      char kind = src_[tag + 1];
      char sign = tag + 2 < src_.size() ? src_[tag + 2] : 0;
      std::string text = src_.substr(pos, tag - pos);
      if (sign == '-') {
        text = rstrip_spaces(text);
      } else if (sign != '+' && kind != '{') {
        text = lstrip_before_block(text, line_starting);
      }
      emit_data(text, pos);
      size_t body = tag + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        pos = end_comment(tag, body);
      } else if (kind == '%' && try_raw(tag, body, pos)) {
        // pos advanced past the raw block
      } else {
        pos = lex_tag(tag, body, kind == '%');
      }
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    tokens_.push_back({TokenType::Eof, "", 0, 0, src_.size()});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  void emit_data(const std::string& text, size_t offset) {
    if (!text.empty()) tokens_.push_back({TokenType::Data, text, 0, 0, offset});
  }

  // After an end marker: `-` eats all following whitespace, plain (block/comment) eats one newline.
  size_t after_end(size_t end_pos, char sign, bool trims_newline) {
    if (sign == '-') {
      while (end_pos < src_.size() && is_space(src_[end_pos])) ++end_pos;
    } else if (sign != '+' && trims_newline && end_pos < src_.size() && src_[end_pos] == '\n') {
      ++end_pos;
    }
    return end_pos;
  }

  size_t end_comment(size_t tag, size_t body) {
    size_t end = src_.find("#}", body);
    // jinja2 quietly drops a `{#` that ends the template; anything after it must be closed.
    if (end == std::string::npos && body >= src_.size()) return src_.size();
    if (end == std::string::npos) fail_at(map_, tag, "Missing end of comment tag");
    char sign = end > body && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    return after_end(end + 2, sign, true);
  }

  // `{% raw %}...{% endraw %}`: the body is text, untouched.
  bool try_raw(size_t tag, size_t body, size_t& pos) {
    size_t i = body;
    while (i < src_.size() && is_space(src_[i])) ++i;
    if (src_.compare(i, 3, "raw") != 0 || (i + 3 < src_.size() && is_name_char(src_[i + 3]))) return false;
    i += 3;
    while (i < src_.size() && is_space(src_[i])) ++i;
    if (src_.compare(i, 3, "-%}") == 0) {
      i = after_end(i + 3, '-', false);
    } else if (src_.compare(i, 2, "%}") == 0) {
      i += 2;
    } else {
      return false;
    }
    // Find `{%[-+]? endraw [-+]?%}`.
    for (size_t k = src_.find("{%", i); k != std::string::npos; k = src_.find("{%", k + 2)) {
      size_t j = k + 2;
      char lsign = (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) ? src_[j++] : 0;
      while (j < src_.size() && is_space(src_[j])) ++j;
      if (src_.compare(j, 6, "endraw") != 0) continue;
      j += 6;
      while (j < src_.size() && is_space(src_[j])) ++j;
      char rsign = 0;
      if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) rsign = src_[j++];
      if (src_.compare(j, 2, "%}") != 0) continue;
      std::string text = src_.substr(i, k - i);
      if (lsign == '-')
        text = rstrip_spaces(text);
      else if (lsign != '+')
        text = lstrip_before_block(text, i > 0 && src_[i - 1] == '\n');
      emit_data(text, i);
      pos = after_end(j + 2, rsign, true);
      return true;
    }
    fail_at(map_, tag, "Missing end of raw directive");
  }

  size_t lex_tag(size_t tag, size_t body, bool is_block) {
    tokens_.push_back({is_block ? TokenType::BlockBegin : TokenType::VarBegin, "", 0, 0, tag});
    std::vector<char> balance;
    size_t i = body;
    const char* end_marker = is_block ? "%}" : "}}";
    while (true) {
      if (i >= src_.size())
        fail_at(map_, tag,
                is_block ? "unexpected end of template, expected end of block tag '%}'"
                         : "unexpected end of template, expected end of print statement '}}'");
      char c = src_[i];
      if (balance.empty()) {
        char sign = 0;
        size_t at = i;
        if ((c == '-' || c == '+') && src_.compare(i + 1, 2, end_marker) == 0 && (c == '-' || is_block)) {
          sign = c;
          at = i + 1;
        }
        if (src_.compare(at, 2, end_marker) == 0) {
          tokens_.push_back({is_block ? TokenType::BlockEnd : TokenType::VarEnd, "", 0, 0, i});
          return after_end(at + 2, sign, is_block);
        }
      }
      if (is_space(c)) {
        ++i;
        continue;
      }
      if (is_digit_char(c)) {
        i = lex_number(i);
        continue;
      }
      if (is_name_start(c)) {
        size_t j = i;
        while (j < src_.size() && is_name_char(src_[j])) ++j;
        tokens_.push_back({TokenType::Name, src_.substr(i, j - i), 0, 0, i});
        i = j;
        continue;
      }
      if (c == '\'' || c == '"') {
        size_t j = i + 1;
        while (j < src_.size() && src_[j] != c) j += src_[j] == '\\' ? 2 : 1;
        if (j >= src_.size()) fail_at(map_, i, "unexpected char '" + std::string(1, c) + "'");
        tokens_.push_back({TokenType::String, unescape_literal(map_, i, src_.substr(i + 1, j - i - 1)), 0, 0, i});
        i = j + 1;
        continue;
      }
      static const char* two_char_ops[] = {"//", "**", "==", "!=", "<=", ">="};
      std::string op;
      for (const char* o : two_char_ops)
        if (src_.compare(i, 2, o) == 0) op = o;
      if (op.empty()) {
        if (c == '\0' || !std::strchr("+-/*%~[](){}<>=.:|,;", c)) {
          size_t len = 1;  // name the whole UTF-8 character
          while (i + len < src_.size() && (static_cast<unsigned char>(src_[i + len]) & 0xC0) == 0x80) ++len;
          fail_at(map_, i, fmt::format("unexpected char '{}'", src_.substr(i, len)));
        }
        op = std::string(1, c);
      }
      if (op == "(" || op == "[" || op == "{") {
        balance.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
      } else if (op == ")" || op == "]" || op == "}") {
        if (balance.empty()) fail_at(map_, i, "unexpected '" + op + "'");
        if (balance.back() != op[0])
          fail_at(map_, i, fmt::format("unexpected '{}', expected '{}'", op, balance.back()));
        balance.pop_back();
      }
      tokens_.push_back({TokenType::Operator, op, 0, 0, i});
      i += op.size();
    }
  }

  size_t lex_number(size_t i) {
    size_t j = i;
    auto digits = [&] {
      while (j < src_.size() &&
             (is_digit_char(src_[j]) || (src_[j] == '_' && j + 1 < src_.size() && is_digit_char(src_[j + 1]))))
        ++j;
    };
    digits();
    bool is_float = false;
    if (j + 1 < src_.size() && src_[j] == '.' && is_digit_char(src_[j + 1])) {
      is_float = true;
      ++j;
      digits();
    }
    if (j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
      size_t k = j + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && is_digit_char(src_[k])) {
        is_float = true;
        j = k;
        digits();
      }
    }
    std::string text = src_.substr(i, j - i);
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    Token t{is_float ? TokenType::Float : TokenType::Integer, text, 0, 0, i};
    try {
      if (is_float)
        t.float_value = std::stod(text);
      else
        t.int_value = std::stoll(text);
    } catch (const std::exception&) {
      fail_at(map_, i, "number literal out of range: " + text);
    }
    tokens_.push_back(t);
    return j;
  }

  const std::string& src_;
  SourceMap map_;
  std::vector<Token> tokens_;
};

}  // namespace

SourceMap::SourceMap(const std::string& source) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < source.size(); ++i)
    if (source[i] == '\n') line_starts_.push_back(i + 1);
}

SourcePos SourceMap::at(size_t offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t line = static_cast<size_t>(it - line_starts_.begin());
  return {static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
}

void fail_at(const SourceMap& map, size_t offset, const std::string& message) {
  SourcePos p = map.at(offset);
  fail("chat template line {}, column {}: {}", p.line, p.column, message);
}

std::string normalize_template_source(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::vector<Token> tokenize_template(const std::string& normalized_source) { return Lexer(normalized_source).run(); }

}  // namespace turbine::jinja
