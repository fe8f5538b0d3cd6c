#include "guided/json_number_frame.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>
#include <utility>

namespace turbine {
namespace {

bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool phase_may_end(uint8_t phase) {
  return phase == kZero || phase == kIntDigits || phase == kFracDigits || phase == kExpDigits;
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

}  // namespace

bool number_may_end(const JsonNode& n, const MatcherFrame& f) {
  if (!phase_may_end(f.phase)) return false;
  return !n.ranged || ranged_value_ok(n, f);
}

// Non-ranged: the grammar alone. Ranged: the syntax, then whether the bounds can still be met.
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

bool number_may_grow(const JsonNode& n, const MatcherFrame& f) {
  for (const char c : std::string_view("0123456789.eE+-")) {
    MatcherFrame next = f;
    if (number_byte(n, next, uint8_t(c))) return true;
  }
  return false;
}

}  // namespace turbine
