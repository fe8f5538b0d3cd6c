#include "guided/constrained_string.h"

#include <algorithm>

#include "guided/code_point_set.h"

namespace turbine {
namespace {

// A frame of a constrained string: phase = where in the JSON string syntax, spare = the automaton's
// state, a = code points so far (counted only under a max_length, else 0), b = the code point being
// decoded:
// - kUtf8: its bits so far (bits 0-20), continuation bytes still to come (21-23), the UTF-8
//   sequence's length (24-26);
// - kHex, kLowHex: the UTF-16 unit's value so far (0-15), hex digits still to come (16-18), and in
//   kLowBackslash, kLowU and kLowHex the ten bits of the high surrogate before it (20-29).
enum Phase : uint8_t { kChars, kEscape, kHex, kUtf8, kLowBackslash, kLowU, kLowHex };

struct Utf8Partial {
  uint32_t bits = 0, left = 0, length = 0;
  int32_t packed() const { return int32_t(bits | left << 21 | length << 24); }
  static Utf8Partial of(int32_t b) {
    return {uint32_t(b) & 0x1FFFFF, (uint32_t(b) >> 21) & 7, (uint32_t(b) >> 24) & 7};
  }
};

struct HexPartial {
  uint32_t unit = 0, left = 0, high = 0;
  int32_t packed() const { return int32_t(unit | left << 16 | high << 20); }
  static HexPartial of(int32_t b) {
    return {uint32_t(b) & 0xFFFF, (uint32_t(b) >> 16) & 7, (uint32_t(b) >> 20) & 0x3FF};
  }
};

constexpr uint32_t kFirstHigh = 0xD800, kLastHigh = 0xDBFF, kFirstLow = 0xDC00, kLastLow = 0xDFFF;

char32_t supplementary(uint32_t high_bits, uint32_t low) { return 0x10000 + (high_bits << 10) + (low - kFirstLow); }

int hex_digit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// What a one-letter escape stands for, or -1.
int32_t escaped(uint8_t c) {
  switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return -1;
  }
}

class Rules {
 public:
  Rules(const JsonGrammar& grammar, const JsonNode& node) : dfa_(grammar.dfa(node.dfa)), max_(node.max_length) {}

  // A text of `count` code points in `state` can still become an accepted one.
  bool viable(int32_t state, int64_t count) const {
    return max_ == JsonNode::kUnboundedLength || count + dfa_.shortest(state) <= max_;
  }
  // Some code point of [first, last] can come next.
  bool can_take(const MatcherFrame& f, char32_t first, char32_t last) const {
    return first <= last &&
           dfa_.any_edge_within(f.spare, first, last, [&](int32_t t) { return viable(t, int64_t(f.a) + 1); });
  }
  // Some code point that the UTF-16 units [first, last] begin can come next: the units themselves,
  // or, for high surrogates, the code points they make with a low one.
  bool can_take_units(const MatcherFrame& f, uint32_t first, uint32_t last) const {
    // Surrogates are on no edge, so the first check skips them.
    if (can_take(f, first, last)) return true;
    const uint32_t high_first = std::max(first, kFirstHigh), high_last = std::min(last, kLastHigh);
    return high_first <= high_last && can_take(f, supplementary(high_first - kFirstHigh, kFirstLow),
                                               supplementary(high_last - kFirstHigh, kLastLow));
  }
  StringStep take(MatcherFrame& f, char32_t c) const {
    const int32_t target = dfa_.step(f.spare, c);
    if (target < 0 || !viable(target, int64_t(f.a) + 1)) return StringStep::Reject;
    f.spare = uint16_t(target);
    if (max_ != JsonNode::kUnboundedLength) ++f.a;
    f.phase = kChars;
    f.b = 0;
    return StringStep::Take;
  }
  bool accepting(const MatcherFrame& f) const { return dfa_.accepting(f.spare); }

 private:
  const RegexDfa& dfa_;
  int32_t max_;
};

// A UTF-8 sequence of `length` bytes whose bytes so far gave `bits`, `left` bytes still to come.
StringStep continue_utf8(const Rules& rules, MatcherFrame& f, uint32_t bits, uint32_t left, uint32_t length) {
  // The code points it can still become: no overlong forms, nothing past U+10FFFF.
  static constexpr char32_t kLeast[5] = {0, 0, 0x80, 0x800, 0x10000};
  const char32_t first = std::max(char32_t(bits << (6 * left)), kLeast[length]);
  const char32_t last = std::min(char32_t((bits << (6 * left)) | ((1u << (6 * left)) - 1)), kMaxCodePoint);
  if (first > last) return StringStep::Reject;
  if (left == 0) return rules.take(f, bits);
  if (!rules.can_take(f, first, last)) return StringStep::Reject;
  f.phase = kUtf8;
  f.b = Utf8Partial{bits, left, length}.packed();
  return StringStep::Take;
}

StringStep take_hex_digit(const Rules& rules, MatcherFrame& f, uint8_t byte) {
  const int digit = hex_digit(byte);
  if (digit < 0) return StringStep::Reject;
  HexPartial p = HexPartial::of(f.b);
  p.unit = p.unit * 16 + uint32_t(digit);
  --p.left;
  // The units these digits can still become.
  uint32_t first = p.unit << (4 * p.left), last = first + (1u << (4 * p.left)) - 1;
  if (f.phase == kHex) {
    if (!rules.can_take_units(f, first, last)) return StringStep::Reject;
    if (p.left > 0) {
      f.b = p.packed();
      return StringStep::Take;
    }
    if (p.unit >= kFirstHigh && p.unit <= kLastHigh) {
      f.phase = kLowBackslash;
      f.b = HexPartial{0, 0, p.unit - kFirstHigh}.packed();
      return StringStep::Take;
    }
    return rules.take(f, p.unit);
  }
  // kLowHex: the unit must be a low surrogate.
  first = std::max(first, kFirstLow);
  last = std::min(last, kLastLow);
  if (first > last || !rules.can_take(f, supplementary(p.high, first), supplementary(p.high, last)))
    return StringStep::Reject;
  if (p.left > 0) {
    f.b = p.packed();
    return StringStep::Take;
  }
  return rules.take(f, supplementary(p.high, p.unit));
}

}  // namespace

bool open_constrained_string(const JsonGrammar& grammar, MatcherFrame& frame) {
  const JsonNode& node = grammar.node(frame.node);
  frame.phase = kChars;
  frame.spare = uint16_t(RegexDfa::kStart);
  frame.a = 0;
  frame.b = 0;
  return !grammar.dfa(node.dfa).empty() && Rules(grammar, node).viable(RegexDfa::kStart, 0);
}

StringStep constrained_string_byte(const JsonGrammar& grammar, MatcherFrame& f, uint8_t byte) {
  const Rules rules(grammar, grammar.node(f.node));
  switch (f.phase) {
    case kChars:
      if (byte == '"') return rules.accepting(f) ? StringStep::Close : StringStep::Reject;
      if (byte == '\\') {
        // Every code point can be written as an escape.
        if (!rules.can_take(f, 0, kMaxCodePoint)) return StringStep::Reject;
        f.phase = kEscape;
        return StringStep::Take;
      }
      if (byte < 0x20) return StringStep::Reject;  // control characters must be escaped
      if (byte < 0x80) return rules.take(f, byte);
      if (byte >= 0xC2 && byte <= 0xDF) return continue_utf8(rules, f, byte & 0x1F, 1, 2);
      if (byte >= 0xE0 && byte <= 0xEF) return continue_utf8(rules, f, byte & 0x0F, 2, 3);
      if (byte >= 0xF0 && byte <= 0xF4) return continue_utf8(rules, f, byte & 0x07, 3, 4);
      return StringStep::Reject;
    case kUtf8: {
      if ((byte & 0xC0) != 0x80) return StringStep::Reject;
      const Utf8Partial p = Utf8Partial::of(f.b);
      return continue_utf8(rules, f, p.bits << 6 | (byte & 0x3F), p.left - 1, p.length);
    }
    case kEscape: {
      if (byte == 'u') {
        f.phase = kHex;
        f.b = HexPartial{0, 4, 0}.packed();
        return StringStep::Take;
      }
      const int32_t c = escaped(byte);
      return c < 0 ? StringStep::Reject : rules.take(f, char32_t(c));
    }
    case kHex:
    case kLowHex: return take_hex_digit(rules, f, byte);
    case kLowBackslash:
      if (byte != '\\') return StringStep::Reject;
      f.phase = kLowU;
      return StringStep::Take;
    case kLowU: {
      if (byte != 'u') return StringStep::Reject;
      f.phase = kLowHex;
      f.b = HexPartial{0, 4, HexPartial::of(f.b).high}.packed();
      return StringStep::Take;
    }
  }
  return StringStep::Reject;
}

}  // namespace turbine
