#include "guided/regex_syntax.h"

#include <fmt/format.h>

namespace turbine {
namespace {

using Kind = RegexTree::Kind;

// Parsing and compiling recurse once per group level.
constexpr int kMaxGroupNesting = 100;

bool is_ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_ascii_letter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int hex_value(char32_t c) {
  if (is_ascii_digit(c)) return int(c - '0');
  if (c >= 'a' && c <= 'f') return int(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return int(c - 'A' + 10);
  return -1;
}

std::string utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
  return out;
}

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  for (size_t i = 0; i < text.size();) {
    const auto lead = uint8_t(text[i]);
    const int length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (length == 0 || i + size_t(length) > text.size()) throw RegexError("the pattern is not valid UTF-8");
    char32_t c = length == 1 ? lead : lead & (0x7F >> length);
    for (int k = 1; k < length; ++k) {
      const auto next = uint8_t(text[i + size_t(k)]);
      if ((next & 0xC0) != 0x80) throw RegexError("the pattern is not valid UTF-8");
      c = (c << 6) | (next & 0x3F);
    }
    out += c;
    i += size_t(length);
  }
  return out;
}

CodePointSet digits() { return CodePointSet::of('0', '9'); }

CodePointSet word_characters() {
  CodePointSet s = CodePointSet::of('a', 'z');
  s.add('A', 'Z');
  s.add('0', '9');
  s.add('_', '_');
  return s;
}

// ECMA-262's WhiteSpace and LineTerminator.
CodePointSet white_space() {
  CodePointSet s = CodePointSet::of('\t', '\r');  // \t \n \v \f \r
  for (char32_t c : {U' ', U'\u00A0', U'\u1680', U'\u2028', U'\u2029', U'\u202F', U'\u205F', U'\u3000', U'\uFEFF'})
    s.add(c, c);
  s.add(0x2000, 0x200A);
  return s;
}

CodePointSet line_terminators() {
  CodePointSet s;
  for (char32_t c : {U'\n', U'\r', U'\u2028', U'\u2029'}) s.add(c, c);
  return s;
}

// What an escape stands for: a set, which is one code point when `single`.
struct Escaped {
  CodePointSet set;
  bool single = false;
  char32_t code_point = 0;
};

Escaped one(char32_t c) { return {CodePointSet::of(c, c), true, c}; }

class Parser {
 public:
  explicit Parser(std::u32string text) : text_(std::move(text)) {}

  RegexTree parse() {
    std::vector<int32_t> alternatives;
    for (;;) {
      std::vector<int32_t> items;
      if (!eat('^')) items.push_back(any_text());
      bool to_end = false;
      parse_sequence(items, &to_end);
      if (!to_end) items.push_back(any_text());
      alternatives.push_back(sequence(std::move(items)));
      if (at_end()) break;
      if (peek() == ')') fail("\")\" without a \"(\"");
      ++pos_;  // '|'
    }
    tree_.root = either(std::move(alternatives));
    return std::move(tree_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { fail_at(pos_, what); }
  [[noreturn]] static void fail_at(size_t at, const std::string& what) {
    throw RegexError(fmt::format("{} (at character {})", what, at));
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char32_t peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : 0; }
  bool eat(char32_t c) {
    if (at_end() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  char32_t next() { return text_[pos_++]; }

  int32_t add(RegexTree::Node node) {
    tree_.nodes.push_back(std::move(node));
    return int32_t(tree_.nodes.size() - 1);
  }
  int32_t set(CodePointSet s) { return add({Kind::Set, std::move(s), {}, 0, 0}); }
  int32_t sequence(std::vector<int32_t> items) {
    if (items.size() == 1) return items[0];
    return add({Kind::Sequence, {}, std::move(items), 0, 0});
  }
  int32_t either(std::vector<int32_t> items) {
    if (items.size() == 1) return items[0];
    return add({Kind::Either, {}, std::move(items), 0, 0});
  }
  int32_t repeat(int32_t child, int32_t min, int32_t max) { return add({Kind::Repeat, {}, {child}, min, max}); }
  int32_t any_text() { return repeat(set(CodePointSet::everything()), 0, kUnboundedRepeat); }

  // Terms up to the end, a '|' or a ')'. `to_end` is set for the top level, where a '$' may end it.
  void parse_sequence(std::vector<int32_t>& items, bool* to_end) {
    while (!at_end()) {
      const char32_t c = peek();
      if (c == '|' || c == ')') return;
      if (c == '$') {
        if (to_end && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '|')) {
          ++pos_;
          *to_end = true;
          return;
        }
        fail("the anchor \"$\" is supported only at the end of the pattern or of a top-level alternative");
      }
      if (c == '^')
        fail("the anchor \"^\" is supported only at the start of the pattern or of a top-level alternative");
      const int32_t atom = parse_atom();
      items.push_back(parse_quantifiers(atom));
    }
  }

  int32_t parse_group_body() {
    std::vector<int32_t> alternatives;
    for (;;) {
      std::vector<int32_t> items;
      parse_sequence(items, nullptr);
      alternatives.push_back(sequence(std::move(items)));
      if (at_end()) fail("a group \"(\" that is not closed");
      if (next() == ')') break;  // else '|'
    }
    return either(std::move(alternatives));
  }

  int32_t parse_atom() {
    const size_t start = pos_;
    const char32_t c = next();
    switch (c) {
      case '.': return set(line_terminators().complement());
      case '(': return parse_group();
      case '[': return set(parse_class());
      case '\\': return set(parse_escape(false).set);
      case '*':
      case '+':
      case '?': fail_at(start, fmt::format("nothing to repeat before \"{}\"", utf8(c)));
      case '{': {
        pos_ = start;
        int32_t min = 0, max = 0;
        if (parse_quantifier(min, max)) fail_at(start, "nothing to repeat before \"{\"");
        pos_ = start + 1;
        return set(CodePointSet::of(c, c));
      }
      default: return set(CodePointSet::of(c, c));
    }
  }

  int32_t parse_group() {
    if (++depth_ > kMaxGroupNesting) fail(fmt::format("groups nested more than {} deep", kMaxGroupNesting));
    const int32_t group = parse_group_kind();
    --depth_;
    return group;
  }

  int32_t parse_group_kind() {
    if (!eat('?')) return parse_group_body();
    const size_t at = pos_ - 2;
    if (eat(':')) return parse_group_body();
    const char32_t c = peek(), after = peek(1);
    if (c == '=' || c == '!') fail_at(at, fmt::format("lookahead \"(?{}\" is not supported", utf8(c)));
    if (c == '<' && (after == '=' || after == '!'))
      fail_at(at, fmt::format("lookbehind \"(?<{}\" is not supported", utf8(after)));
    if (eat('<')) {
      // A named group: the name only matters to captures, which matching does not need.
      auto name_char = [&](bool first) {
        const char32_t n = peek();
        return is_ascii_letter(n) || n == '_' || n == '$' || (!first && is_ascii_digit(n));
      };
      const size_t name_start = pos_;
      while (!at_end() && name_char(pos_ == name_start)) ++pos_;
      if (pos_ == name_start || !eat('>')) fail_at(at, "a group name \"(?<name>\" that is not well formed");
      return parse_group_body();
    }
    fail_at(at, fmt::format("the group syntax \"(?{}\" is not supported", at_end() ? "" : utf8(c)));
  }

  // Reads a quantifier at pos_ (moving past it) if there is one.
  bool parse_quantifier(int32_t& min, int32_t& max) {
    const char32_t c = peek();
    if (c == '*') return ++pos_, min = 0, max = kUnboundedRepeat, true;
    if (c == '+') return ++pos_, min = 1, max = kUnboundedRepeat, true;
    if (c == '?') return ++pos_, min = 0, max = 1, true;
    if (c != '{') return false;
    const size_t start = pos_;
    ++pos_;
    auto number = [&](int32_t& out) {
      const size_t from = pos_;
      int64_t value = 0;
      while (!at_end() && is_ascii_digit(peek())) value = std::min<int64_t>(value * 10 + (next() - '0'), 1 << 30);
      out = int32_t(value);
      return pos_ > from;
    };
    bool ok = number(min);
    max = min;
    if (ok && eat(',')) {
      if (!number(max)) max = kUnboundedRepeat;
    }
    if (!ok || !eat('}')) {
      pos_ = start;
      return false;  // not a quantifier: the '{' is a literal
    }
    const size_t end = pos_;
    pos_ = start;
    if (min > kMaxRepeat || max > kMaxRepeat)
      fail(fmt::format("a repetition count over {} is not supported", kMaxRepeat));
    if (max != kUnboundedRepeat && min > max) fail("a repetition {n,m} with n greater than m");
    pos_ = end;
    return true;
  }

  int32_t parse_quantifiers(int32_t atom) {
    int32_t min = 0, max = 0;
    if (!parse_quantifier(min, max)) return atom;
    eat('?');  // lazy: the same strings match
    const size_t after = pos_;
    int32_t again_min = 0, again_max = 0;
    if (parse_quantifier(again_min, again_max)) pos_ = after, fail("a quantifier right after another");
    return repeat(atom, min, max);
  }

  CodePointSet parse_class() {
    const bool negated = eat('^');
    CodePointSet s;
    for (;;) {
      if (at_end()) fail("a class \"[\" that is not closed");
      if (eat(']')) break;
      const Escaped first = class_atom();
      if (peek() == '-' && peek(1) != ']' && pos_ + 1 < text_.size()) {
        ++pos_;
        const Escaped last = class_atom();
        if (!first.single || !last.single) fail("a class range with a class escape at one end (such as [\\d-z])");
        if (first.code_point > last.code_point) fail("a class range out of order");
        s.add(first.code_point, last.code_point);
      } else {
        s.add(first.set);
      }
    }
    return negated ? s.complement() : s;
  }

  Escaped class_atom() {
    const char32_t c = next();
    if (c == '\\') return parse_escape(true);
    return one(c);
  }

  // After a backslash.
  Escaped parse_escape(bool in_class) {
    if (at_end()) fail("the pattern ends with \"\\\"");
    const size_t at = pos_ - 1;
    const char32_t c = next();
    auto unsupported = [at](const std::string& what) { return what + " is not supported"; };
    switch (c) {
      case 'd': return {digits()};
      case 'D': return {digits().complement()};
      case 'w': return {word_characters()};
      case 'W': return {word_characters().complement()};
      case 's': return {white_space()};
      case 'S': return {white_space().complement()};
      case 't': return one('\t');
      case 'n': return one('\n');
      case 'v': return one('\v');
      case 'f': return one('\f');
      case 'r': return one('\r');
      case '0':
        if (is_ascii_digit(peek())) fail_at(at, unsupported("an octal escape \"\\0" + utf8(peek()) + "\""));
        return one(0);
      case 'b':
        if (in_class) return one('\b');
        fail_at(at, unsupported("a word boundary \"\\b\""));
      case 'B': fail_at(at, unsupported("a word boundary \"\\B\""));
      case 'c':
        if (!is_ascii_letter(peek())) fail_at(at, "\"\\c\" without a letter");
        return one(next() % 32);
      case 'x': {
        const int high = hex_value(peek()), low = hex_value(peek(1));
        if (high < 0 || low < 0) fail_at(at, "\"\\x\" without two hex digits");
        pos_ += 2;
        return one(char32_t(high * 16 + low));
      }
      case 'u': return one(parse_unicode_escape(at));
      case 'k': fail_at(at, unsupported("a named backreference \"\\k\""));
      case 'p':
      case 'P': fail_at(at, unsupported(fmt::format("a Unicode property escape \"\\{}\"", utf8(c))));
      default: break;
    }
    if (is_ascii_digit(c)) fail_at(at, unsupported(fmt::format("a backreference \"\\{}\"", utf8(c))));
    if (is_ascii_letter(c)) fail_at(at, fmt::format("the escape \"\\{}\" is not supported", utf8(c)));
    return one(c);  // escaped punctuation (or any other character) stands for itself
  }

  // After "\u": XXXX (a surrogate pair written as two such escapes is one code point) or {X...}.
  char32_t parse_unicode_escape(size_t at) {
    if (eat('{')) {
      char32_t value = 0;
      size_t count = 0;
      while (!at_end() && hex_value(peek()) >= 0 && value <= kMaxCodePoint)
        value = value * 16 + hex_value(next()), ++count;
      if (count == 0 || value > kMaxCodePoint || !eat('}')) fail_at(at, "\"\\u{...}\" that is not a code point");
      return value;
    }
    auto four_hex = [&](size_t from, char32_t& out) {
      out = 0;
      for (size_t k = 0; k < 4; ++k) {
        const int digit = from + k < text_.size() ? hex_value(text_[from + k]) : -1;
        if (digit < 0) return false;
        out = out * 16 + char32_t(digit);
      }
      return true;
    };
    char32_t unit = 0;
    if (!four_hex(pos_, unit)) fail_at(at, "\"\\u\" without four hex digits");
    pos_ += 4;
    char32_t low = 0;
    if (unit >= 0xD800 && unit <= 0xDBFF && peek() == '\\' && peek(1) == 'u' && four_hex(pos_ + 2, low) &&
        low >= 0xDC00 && low <= 0xDFFF) {
      pos_ += 6;
      return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    return unit;  // a lone surrogate: a set without it, which matches nothing
  }

  std::u32string text_;
  size_t pos_ = 0;
  int depth_ = 0;
  RegexTree tree_;
};

}  // namespace

RegexTree parse_regex(std::string_view pattern) { return Parser(decode_utf8(pattern)).parse(); }

}  // namespace turbine
