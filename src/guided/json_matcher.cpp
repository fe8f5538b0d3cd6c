#include "guided/json_matcher.h"

#include <algorithm>
#include <array>
#include <limits>
#include <span>
#include <string_view>
#include <utility>

#include "guided/constrained_string.h"

namespace turbine {
namespace {

enum FrameKind : uint8_t { kHeader, kValue, kObject, kArray, kString, kNumber, kLiteral, kKey, kConstrainedString };
// Header: a = whitespace bytes in a row just taken, b = line-break bytes among them (1 = '\n',
// 2 = '\r'). Value: node = what comes. Object: a = first
// property still possible, b = the property being written. Array: a = items begun. String: phase,
// a = hex digits or UTF-8 continuation bytes left, b = the next continuation byte's range.
// Number: node (Integer or not), phase (kStart only before its first byte), and for a ranged node
// the value so far (see "Number frames" below). Literal: a = which literal, b = bytes matched.
// Key: a = property, b = bytes matched. ConstrainedString: node, and phase, spare (the automaton's
// state), a, b as constrained_string.cpp has them.
enum ObjectPhase : uint8_t { kAfterOpen, kExpectKey, kExpectColon, kAfterMember };
enum ArrayPhase : uint8_t { kArrayOpen, kAfterItem };
enum StringPhase : uint8_t { kChars, kEscape, kHex, kUtf8 };
enum NumberPhase : uint8_t { kMinus, kZero, kIntDigits, kDot, kFracDigits, kExp, kExpSign, kExpDigits, kStart };

bool is_whitespace(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool number_may_end(uint8_t phase) {
  return phase == kZero || phase == kIntDigits || phase == kFracDigits || phase == kExpDigits;
}

MatcherFrame frame(uint8_t kind, int32_t node, uint8_t phase = 0, int32_t a = 0, int32_t b = 0) {
  MatcherFrame f;
  f.kind = kind;
  f.node = node;
  f.phase = phase;
  f.a = a;
  f.b = b;
  return f;
}

StringStep string_byte(MatcherFrame& f, uint8_t c) {
  switch (f.phase) {
    case kChars:
      if (c == '"') return StringStep::Close;
      if (c == '\\') {
        f.phase = kEscape;
        return StringStep::Take;
      }
      if (c < 0x20) return StringStep::Reject;  // control characters must be escaped
      if (c < 0x80) return StringStep::Take;
      // The lead byte of a UTF-8 sequence: how many continuation bytes follow and the range of the
      // first (no overlong forms, no surrogates, nothing past U+10FFFF).
      f.phase = kUtf8;
      if (c >= 0xC2 && c <= 0xDF)
        f.a = 1, f.b = 0x80BF;
      else if (c == 0xE0)
        f.a = 2, f.b = 0xA0BF;
      else if (c == 0xED)
        f.a = 2, f.b = 0x809F;
      else if (c >= 0xE1 && c <= 0xEF)
        f.a = 2, f.b = 0x80BF;
      else if (c == 0xF0)
        f.a = 3, f.b = 0x90BF;
      else if (c >= 0xF1 && c <= 0xF3)
        f.a = 3, f.b = 0x80BF;
      else if (c == 0xF4)
        f.a = 3, f.b = 0x808F;
      else
        return StringStep::Reject;
      return StringStep::Take;
    case kEscape:
      if (c == 'u') {
        f.phase = kHex;
        f.a = 4;
        return StringStep::Take;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
        f.phase = kChars;
        return StringStep::Take;
      }
      return StringStep::Reject;
    case kHex:
      if (!is_hex(c)) return StringStep::Reject;
      if (--f.a == 0) f.phase = kChars;
      return StringStep::Take;
    case kUtf8:
      if (c < (f.b >> 8) || c > (f.b & 0xFF)) return StringStep::Reject;
      f.b = 0x80BF;
      if (--f.a == 0) f.phase = kChars, f.b = 0;
      return StringStep::Take;
  }
  return StringStep::Reject;
}

// Number frames. Not ranged: phase alone. A ranged Integer: spare bit 0 = negative, bit 1 = "big"
// (the magnitude passed 2^64 - 1); a, b = the magnitude so far as one uint64 (a the low half), or
// when big a = its residue modulo multiple_of and b = 0. A ranged Number: spare bit 0 = negative,
// bits 1-5 = digits written, bits 6-10 = fraction digits among them; a, b = the digits as one
// uint64 (leading zeros dropped), the mantissa.
using Int128 = JsonNode::Int128;
constexpr Int128 kNoBound = JsonNode::kNoBound;
constexpr uint16_t kNegative = 1, kBig = 2;

// 10^k for 0 <= k <= 38 (the matcher asks for at most 10^29).
Int128 pow10(int k) {
  static constexpr auto kPowers = [] {
    std::array<Int128, 39> p{};
    p[0] = 1;
    for (size_t i = 1; i < p.size(); ++i) p[i] = p[i - 1] * 10;
    return p;
  }();
  return kPowers[size_t(k)];
}
uint64_t frame_u64(const MatcherFrame& f) { return uint64_t(uint32_t(f.a)) | (uint64_t(uint32_t(f.b)) << 32); }
void set_u64(MatcherFrame& f, uint64_t v) {
  f.a = int32_t(uint32_t(v));
  f.b = int32_t(uint32_t(v >> 32));
}
int number_digits(const MatcherFrame& f) { return (f.spare >> 1) & 31; }
int fraction_digits(const MatcherFrame& f) { return (f.spare >> 6) & 31; }
void set_number_digits(MatcherFrame& f, int digits, int fraction) {
  f.spare = uint16_t((f.spare & kNegative) | (digits << 1) | (fraction << 6));
}

// The bounds on the magnitude of a number of that sign: [low, high] becomes [-high, -low] for a
// negative one, which is also at least one unit: a ranged number is never a negative zero ("-0",
// "-0.0"), so a '-' is taken only where the range holds a negative value.
std::pair<Int128, Int128> magnitude_bounds(const JsonNode& n, bool negative) {
  return negative ? std::pair(std::max<Int128>(-n.high, 1), -n.low) : std::pair(n.low, n.high);
}

// Whether a ranged Integer's text so far can still end within the bounds at a multiple. A growable
// magnitude v (a first digit other than 0) completes to v * 10^k + [0, 10^k) for every k >= 0.
bool integer_feasible(const JsonNode& n, const MatcherFrame& f) {
  const auto [low, high] = magnitude_bounds(n, f.spare & kNegative);
  const Int128 m = n.multiple_of;
  // Big: beyond every finite bound (they lie within 2^64 - 1), and a free upper side lets a
  // multiple be reached with more digits.
  if (f.spare & kBig) return high >= kNoBound;
  const Int128 v = frame_u64(f);
  if (f.phase == kZero) return low <= 0 && 0 <= high;
  if (high >= kNoBound) return true;  // v >= 1: v * 10^k passes any lower bound, and 10^k >= m
  for (Int128 first = v, width = 1; first <= high; first *= 10, width *= 10) {
    const Int128 from = std::max(first, low), to = std::min(first + width - 1, high);
    if (from <= to && (from + m - 1) / m * m <= to) return true;  // from >= v >= 1
  }
  return false;
}

// Whether the grid base + step * i (0 <= base + step * i < base + span) meets [low, high].
bool grid_meets(Int128 base, Int128 span, Int128 step, Int128 low, Int128 high) {
  const Int128 from = std::max(base, low);
  const Int128 first = base + (from - base + step - 1) / step * step;
  return first <= high && first < base + span;
}

// Whether a ranged Number's text so far can still end within the bounds, written with at most
// kRangedNumberDigits digits and no exponent. In units of 10^-S (S = kRangedNumberScale), a number
// with i integer digits is a multiple of 10^(i - 1): the digits after them are at most D - i.
bool ranged_number_feasible(const JsonNode& n, const MatcherFrame& f) {
  constexpr int D = kRangedNumberDigits, S = kRangedNumberScale;
  const auto [low, high] = magnitude_bounds(n, f.spare & kNegative);
  const Int128 mantissa = frame_u64(f);
  const int digits = number_digits(f), fraction = fraction_digits(f);
  switch (f.phase) {
    case kZero: return grid_meets(0, pow10(S), 1, low, high);
    case kIntDigits:
      // k more integer digits, then any fraction the remaining digits allow.
      for (int k = 0; digits + k <= D; ++k)
        if (grid_meets(mantissa * pow10(k + S), pow10(k + S), pow10(digits + k - 1), low, high)) return true;
      return false;
    case kDot:
    case kFracDigits: {
      const int integer_digits = digits - fraction;
      return grid_meets(mantissa * pow10(S - fraction), pow10(S - fraction), pow10(integer_digits - 1), low, high);
    }
  }
  return false;
}

// The value of a ranged number that may end here lies within the bounds (and is a multiple).
bool ranged_value_ok(const JsonNode& n, const MatcherFrame& f) {
  const auto [low, high] = magnitude_bounds(n, f.spare & kNegative);
  if (n.kind == JsonNodeKind::Integer) {
    if (f.spare & kBig) return high >= kNoBound && f.a == 0;
    const Int128 v = frame_u64(f);
    return low <= v && v <= high && v % n.multiple_of == 0;
  }
  const Int128 value = f.phase == kZero ? 0 : Int128(frame_u64(f)) * pow10(kRangedNumberScale - fraction_digits(f));
  return low <= value && value <= high;
}

bool number_may_end(const JsonNode& n, const MatcherFrame& f) {
  if (!number_may_end(f.phase)) return false;
  return !n.ranged || ranged_value_ok(n, f);
}

// `f` after `c` in a ranged number (before any feasibility check); false when the syntax refuses it.
bool ranged_syntax(const JsonNode& n, MatcherFrame& f, uint8_t c) {
  const bool integer = n.kind == JsonNodeKind::Integer;
  const int digits = number_digits(f), fraction = fraction_digits(f);
  auto digit = [&](uint8_t phase) {
    const int d = c - '0';
    if (integer) {
      if (f.spare & kBig) {
        f.a = int32_t((int64_t(f.a) * 10 + d) % n.multiple_of);
      } else {
        const Int128 v = Int128(frame_u64(f)) * 10 + d;
        if (v > Int128(std::numeric_limits<uint64_t>::max())) {
          f.spare |= kBig;
          f.a = int32_t(v % n.multiple_of);
          f.b = 0;
        } else {
          set_u64(f, uint64_t(v));
        }
      }
    } else {
      if (digits >= kRangedNumberDigits) return false;
      set_u64(f, frame_u64(f) * 10 + uint64_t(d));
      set_number_digits(f, digits + 1, fraction + (phase == kFracDigits));
    }
    f.phase = phase;
    return true;
  };
  switch (f.phase) {
    case kStart:
      if (c == '-') {
        f.spare |= kNegative;
        f.phase = kMinus;
        return true;
      }
      [[fallthrough]];
    case kMinus:
      if (c == '0') return digit(kZero);
      if (c >= '1' && c <= '9') return digit(kIntDigits);
      return false;
    case kIntDigits:
      if (is_digit(c)) return digit(kIntDigits);
      [[fallthrough]];
    case kZero:
      if (c != '.' || integer || digits >= kRangedNumberDigits) return false;
      f.phase = kDot;
      return true;
    case kDot:
    case kFracDigits: return is_digit(c) && !integer && digit(kFracDigits);
  }
  return false;
}

bool ranged_feasible(const JsonNode& n, const MatcherFrame& f) {
  if (f.phase == kStart || f.phase == kMinus) {
    // Feasible when some first digit (or, before anything, a '-') is.
    for (const char c : std::string_view(f.phase == kStart ? "-0123456789" : "0123456789")) {
      MatcherFrame next = f;
      if (ranged_syntax(n, next, uint8_t(c)) && ranged_feasible(n, next)) return true;
    }
    return false;
  }
  return n.kind == JsonNodeKind::Integer ? integer_feasible(n, f) : ranged_number_feasible(n, f);
}

// Takes `c` into a number (a frame begun at kStart before its first byte); false, with `f`
// unchanged, when the number cannot take it.
bool number_byte(const JsonNode& n, MatcherFrame& f, uint8_t c) {
  if (n.ranged) {
    MatcherFrame next = f;
    if (!ranged_syntax(n, next, c) || !ranged_feasible(n, next)) return false;
    f = next;
    return true;
  }
  auto go = [&](uint8_t phase) {
    f.phase = phase;
    return true;
  };
  const bool fraction_or_exponent_ok = n.kind != JsonNodeKind::Integer;
  switch (f.phase) {
    case kStart:
      if (c == '-') return go(kMinus);
      [[fallthrough]];
    case kMinus:
      if (c == '0') return go(kZero);
      if (c >= '1' && c <= '9') return go(kIntDigits);
      return false;
    case kIntDigits:
      if (is_digit(c)) return true;
      [[fallthrough]];
    case kZero:
      if (c == '.' && fraction_or_exponent_ok) return go(kDot);
      if ((c == 'e' || c == 'E') && fraction_or_exponent_ok) return go(kExp);
      return false;
    case kDot: return is_digit(c) && go(kFracDigits);
    case kFracDigits:
      if (is_digit(c)) return true;
      if (c == 'e' || c == 'E') return go(kExp);
      return false;
    case kExp:
      if (c == '+' || c == '-') return go(kExpSign);
      return is_digit(c) && go(kExpDigits);
    case kExpSign:
    case kExpDigits: return is_digit(c) && go(kExpDigits);
  }
  return false;
}

// Some byte may still grow the number.
bool number_may_grow(const JsonNode& n, const MatcherFrame& f) {
  for (const char c : std::string_view("0123456789.eE+-")) {
    MatcherFrame next = f;
    if (number_byte(n, next, uint8_t(c))) return true;
  }
  return false;
}

bool required_left(const JsonNode& n, int32_t from) {
  for (size_t k = size_t(from); k < n.properties.size(); ++k)
    if (n.properties[k].required) return true;
  return false;
}

// [begin, end) of each stack in `frames`.
template <typename Visit>
void for_each_stack(std::span<const MatcherFrame> frames, Visit visit) {
  size_t begin = 0;
  while (begin < frames.size()) {
    size_t end = begin + 1;
    while (end < frames.size() && frames[end].kind != kHeader) ++end;
    visit(begin, end);
    begin = end;
  }
}

}  // namespace

MatcherState JsonMatcher::start() const {
  MatcherState s;
  s.frames = {frame(kHeader, 0), frame(kValue, grammar_.root())};
  return s;
}

bool JsonMatcher::advance(const MatcherState& from, uint8_t byte, MatcherState& to) const {
  std::vector<MatcherFrame>& out = to.frames;
  out.clear();
  size_t stacks = 0;
  for_each_stack(from.frames, [&](size_t begin, size_t end) {
    const size_t base = out.size();
    out.insert(out.end(), from.frames.begin() + std::ptrdiff_t(begin), from.frames.begin() + std::ptrdiff_t(end));
    // Whitespace between the JSON's tokens (not inside a string, key or literal) is counted.
    const uint8_t top = out.back().kind;
    const bool structural_ws =
        is_whitespace(byte) && (top == kValue || top == kObject || top == kArray || top == kNumber);
    if (structural_ws) {
      const int32_t breaks = out[base].b;
      const bool too_long = out[base].a >= kMaxWhitespaceRun;
      const bool second_break = (byte == '\n' && (breaks & 1)) || (byte == '\r' && breaks != 0);
      if (too_long || second_break) {
        out.resize(base);
        return;
      }
    }
    if (!feed(out, base, byte)) {
      out.resize(base);
      return;
    }
    for_each_stack(std::span(out).subspan(base), [&](size_t b, size_t) {
      MatcherFrame& header = out[base + b];
      header.a = structural_ws ? header.a + 1 : 0;
      header.b = !structural_ws ? 0 : byte == '\n' ? header.b | 1 : byte == '\r' ? header.b | 2 : header.b;
      ++stacks;
    });
  });
  if (stacks > 1) {
    // Alternatives that met again (an anyOf whose branches agree so far) are kept once.
    std::vector<std::pair<size_t, size_t>> kept;
    std::vector<MatcherFrame> unique;
    for_each_stack(out, [&](size_t begin, size_t end) {
      const std::span<const MatcherFrame> s(out.data() + begin, end - begin);
      for (const auto& [kb, ke] : kept)
        if (ke - kb == s.size() && std::equal(s.begin(), s.end(), unique.begin() + std::ptrdiff_t(kb))) return;
      kept.emplace_back(unique.size(), unique.size() + s.size());
      unique.insert(unique.end(), s.begin(), s.end());
    });
    out.swap(unique);
  }
  return !out.empty();
}

bool JsonMatcher::advance(MatcherState& state, std::string_view bytes) const {
  MatcherState next;
  for (char c : bytes) {
    if (!advance(state, uint8_t(c), next)) {
      state.frames.clear();
      return false;
    }
    std::swap(state, next);
  }
  return !state.dead();
}

bool JsonMatcher::can_end(const MatcherState& state) const {
  bool result = false;
  for_each_stack(state.frames, [&](size_t begin, size_t end) {
    const size_t depth = end - begin - 1;
    const MatcherFrame& top = state.frames[end - 1];
    if (depth == 0 || (depth == 1 && top.kind == kNumber && number_may_end(grammar_.node(top.node), top)))
      result = true;
  });
  return result;
}

bool JsonMatcher::can_continue(const MatcherState& state) const {
  bool result = false;
  for_each_stack(state.frames, [&](size_t begin, size_t end) {
    const size_t depth = end - begin - 1;
    const MatcherFrame& top = state.frames[end - 1];
    // A number at the top level grows only by its own bytes (nothing may follow the value).
    if (depth == 1 && top.kind == kNumber)
      result = result || number_may_grow(grammar_.node(top.node), top);
    else
      result = result || depth > 0;
  });
  return result;
}

template <typename Choose>
bool JsonMatcher::fork(std::vector<MatcherFrame>& out, size_t base, size_t choices, uint8_t byte, Choose choose) const {
  const std::vector<MatcherFrame> original(out.begin() + std::ptrdiff_t(base), out.end());
  out.resize(base);
  bool any = false;
  for (size_t i = 0; i < choices; ++i) {
    const size_t at = out.size();
    out.insert(out.end(), original.begin(), original.end());
    choose(out, i);
    if (feed(out, at, byte))
      any = true;
    else
      out.resize(at);
  }
  return any;
}

bool JsonMatcher::feed(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const {
  for (;;) {
    if (out.size() == base + 1) return false;  // the value is complete: nothing more may come
    MatcherFrame& f = out.back();
    switch (f.kind) {
      case kValue: return feed_value(out, base, byte);
      case kObject: return feed_object(out, base, byte);
      case kArray: return feed_array(out, base, byte);
      case kString:
        switch (string_byte(f, byte)) {
          case StringStep::Reject: return false;
          case StringStep::Take: return true;
          case StringStep::Close: out.pop_back(); return true;
        }
        return false;
      case kConstrainedString:
        switch (constrained_string_byte(grammar_, f, byte)) {
          case StringStep::Reject: return false;
          case StringStep::Take: return true;
          case StringStep::Close: out.pop_back(); return true;
        }
        return false;
      case kKey:
      case kLiteral: {
        const JsonNode& n = grammar_.node(f.node);
        const std::string& text = f.kind == kKey ? n.properties[size_t(f.a)].key : n.literals[size_t(f.a)];
        if (uint8_t(text[size_t(f.b)]) != byte) return false;
        if (size_t(++f.b) == text.size()) out.pop_back();
        return true;
      }
      case kNumber: {
        const JsonNode& n = grammar_.node(f.node);
        if (number_byte(n, f, byte)) return true;
        if (!number_may_end(n, f)) return false;
        out.pop_back();  // the number ended just before this byte, which belongs to what follows
        continue;
      }
      default: return false;
    }
  }
}

bool JsonMatcher::feed_value(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const {
  if (is_whitespace(byte)) return true;
  MatcherFrame& f = out.back();
  const JsonNode& n = grammar_.node(f.node);
  const bool may_nest = out.size() - base - 1 < size_t(kMaxNesting);
  switch (n.kind) {
    case JsonNodeKind::Any: {
      int32_t kind_node = -1;
      if (byte == '{')
        kind_node = JsonGrammar::kAnyObject;
      else if (byte == '[')
        kind_node = JsonGrammar::kAnyArray;
      else if (byte == '"')
        kind_node = JsonGrammar::kString;
      else if (byte == '-' || is_digit(byte))
        kind_node = JsonGrammar::kNumber;
      else if (byte == 't')
        kind_node = JsonGrammar::kTrue;
      else if (byte == 'f')
        kind_node = JsonGrammar::kFalse;
      else if (byte == 'n')
        kind_node = JsonGrammar::kNull;
      if (kind_node < 0) return false;
      f.node = kind_node;
      return feed_value(out, base, byte);
    }
    case JsonNodeKind::AnyOf:
      return fork(out, base, n.alternatives.size(), byte,
                  [&](std::vector<MatcherFrame>& o, size_t i) { o.back().node = n.alternatives[i]; });
    case JsonNodeKind::String:
      if (byte != '"') return false;
      f = frame(kString, f.node, kChars);
      return true;
    case JsonNodeKind::ConstrainedString:
      if (byte != '"') return false;
      f = frame(kConstrainedString, f.node);
      return open_constrained_string(grammar_, f);
    case JsonNodeKind::Number:
    case JsonNodeKind::Integer: {
      MatcherFrame number = frame(kNumber, f.node, kStart);
      if (!number_byte(n, number, byte)) return false;
      f = number;
      return true;
    }
    case JsonNodeKind::Literals: {
      std::vector<int32_t> matching;
      for (size_t i = 0; i < n.literals.size(); ++i)
        if (uint8_t(n.literals[i][0]) == byte) matching.push_back(int32_t(i));
      if (matching.empty()) return false;
      const int32_t node = f.node;
      return fork(out, base, matching.size(), byte,
                  [&](std::vector<MatcherFrame>& o, size_t i) { o.back() = frame(kLiteral, node, 0, matching[i]); });
    }
    case JsonNodeKind::Object:
      if (byte != '{' || !may_nest) return false;
      f = frame(kObject, f.node, kAfterOpen);
      return true;
    case JsonNodeKind::Array:
      if (byte != '[' || !may_nest) return false;
      f = frame(kArray, f.node, kArrayOpen);
      return true;
  }
  return false;
}

bool JsonMatcher::feed_object(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const {
  if (is_whitespace(byte)) return true;
  MatcherFrame& f = out.back();
  const int32_t node = f.node;
  const JsonNode& n = grammar_.node(node);
  const bool free_keys = n.properties.empty() && n.extra_values >= 0;
  auto close = [&] {
    if (!free_keys && required_left(n, f.a)) return false;
    out.pop_back();
    return true;
  };
  auto key = [&] {
    if (free_keys) {
      f.phase = kExpectColon;
      out.push_back(frame(kString, JsonGrammar::kString, kChars));
      return true;
    }
    // The next key is any property from f.a up to the first required one (which cannot be skipped).
    const int32_t first = f.a;
    int32_t last = first;
    while (size_t(last) < n.properties.size() && !n.properties[size_t(last)].required) ++last;
    last = std::min<int32_t>(last, int32_t(n.properties.size()) - 1);
    if (first > last) return false;
    return fork(out, base, size_t(last - first + 1), byte, [&](std::vector<MatcherFrame>& o, size_t i) {
      const int32_t property = first + int32_t(i);
      o.back().phase = kExpectColon;
      o.back().a = property + 1;
      o.back().b = property;
      o.push_back(frame(kKey, node, 0, property));
    });
  };
  switch (f.phase) {
    case kAfterOpen:
      if (byte == '}') return close();
      return byte == '"' && key();
    case kExpectKey: return byte == '"' && key();
    case kExpectColon: {
      if (byte != ':') return false;
      f.phase = kAfterMember;
      const int32_t value = free_keys ? n.extra_values : n.properties[size_t(f.b)].value;
      out.push_back(frame(kValue, value));
      return true;
    }
    case kAfterMember:
      if (byte == '}') return close();
      if (byte != ',' || (!free_keys && size_t(f.a) >= n.properties.size())) return false;
      f.phase = kExpectKey;
      return true;
  }
  return false;
}

bool JsonMatcher::feed_array(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const {
  if (is_whitespace(byte)) return true;
  MatcherFrame& f = out.back();
  const JsonNode& n = grammar_.node(f.node);
  // The node of the item at `index` (-1: no item may stand there).
  auto item = [&](int32_t index) {
    if (index >= n.max_items) return -1;
    return size_t(index) < n.prefix_items.size() ? n.prefix_items[size_t(index)] : n.items;
  };
  if (f.phase == kArrayOpen) {
    if (byte == ']') {
      if (n.min_items > 0) return false;
      out.pop_back();
      return true;
    }
    const int32_t first = item(0);
    if (first < 0) return false;
    f.phase = kAfterItem;
    f.a = 1;
    out.push_back(frame(kValue, first));
    return feed(out, base, byte);
  }
  if (byte == ']') {
    if (f.a < n.min_items) return false;
    out.pop_back();
    return true;
  }
  const int32_t next = item(f.a);
  if (byte != ',' || next < 0) return false;
  ++f.a;
  out.push_back(frame(kValue, next));
  return true;
}

}  // namespace turbine
