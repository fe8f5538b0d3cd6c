// Bounded numbers in the JSON matcher (minimum/maximum, their exclusive forms, an integer's
// multipleOf): for many ranges, every text of up to 5 bytes over the number's alphabet is walked,
// and the matcher must take exactly the prefixes that some in-range number completes, end exactly at
// in-range numbers, and grow exactly where a longer in-range number exists (a bounded number is
// never a negative zero: "-0" is refused, so a '-' needs negative values). The reference here is
// independent of the matcher: it lays out every shape a number can have (sign, integer digits,
// fraction digits) and asks whether the shape's numbers that begin with the text meet the range.
#include <gtest/gtest.h>

#include <optional>
#include <random>

#include "guided/json_matcher.h"
#include "guided/json_schema.h"

namespace turbine {
namespace {

using Int128 = __int128;

Int128 pow10(int k) {
  Int128 p = 1;
  while (k-- > 0) p *= 10;
  return p;
}

// A decimal text ("-1.25", "18446744073709551615") in units of 10^-scale; it has at most `scale`
// fraction digits.
Int128 in_units(std::string_view text, int scale) {
  const bool negative = text.starts_with('-');
  if (negative) text.remove_prefix(1);
  Int128 v = 0;
  int fraction = -1;
  for (const char c : text) {
    if (c == '.') {
      fraction = 0;
      continue;
    }
    v = v * 10 + (c - '0');
    if (fraction >= 0) ++fraction;
  }
  v *= pow10(scale - std::max(fraction, 0));
  return negative ? -v : v;
}

struct Range {
  bool integer = true;
  std::optional<std::string> minimum, maximum;  // decimal texts
  bool exclusive_min = false, exclusive_max = false;
  int64_t multiple_of = 1;

  std::string schema() const {
    std::string s = fmt::format(R"({{"type": "{}")", integer ? "integer" : "number");
    if (minimum) s += fmt::format(R"(, "{}": {})", exclusive_min ? "exclusiveMinimum" : "minimum", *minimum);
    if (maximum) s += fmt::format(R"(, "{}": {})", exclusive_max ? "exclusiveMaximum" : "maximum", *maximum);
    if (multiple_of != 1) s += fmt::format(R"(, "multipleOf": {})", multiple_of);
    return s + "}";
  }
  std::string name() const { return schema(); }
};

// The reference. Values are counted in units of 10^-kScale (the bounds of the ranges below have at
// most 4 fraction digits, a bounded number's text at most 14). Integers are laid out with up to 26
// digits: beyond the 20 of 2^64, a longer one passes every bound the ranges have.
class Reference {
 public:
  explicit Reference(const Range& r) : r_(r) {
    scale_ = r.integer ? 4 : kRangedNumberDigits - 1;
    if (r.minimum) low_ = in_units(*r.minimum, scale_);
    if (r.maximum) high_ = in_units(*r.maximum, scale_);
  }

  bool in_range(Int128 value_units, Int128 digits_value) const {
    if (low_ && (r_.exclusive_min ? value_units <= *low_ : value_units < *low_)) return false;
    if (high_ && (r_.exclusive_max ? value_units >= *high_ : value_units > *high_)) return false;
    return digits_value % r_.multiple_of == 0;
  }

  // `text` (less leading spaces) is a whole number of the bounded syntax, within the range.
  bool complete(std::string_view text) const {
    while (text.starts_with(' ')) text.remove_prefix(1);
    const bool negative = text.starts_with('-');
    if (negative) text.remove_prefix(1);
    const size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view fraction = dot == std::string_view::npos ? "" : text.substr(dot + 1);
    auto digits_only = [](std::string_view s) {
      return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (!digits_only(whole) || (whole.size() > 1 && whole[0] == '0')) return false;
    if (dot != std::string_view::npos && (r_.integer || !digits_only(fraction))) return false;
    if (!r_.integer && whole.size() + fraction.size() > size_t(kRangedNumberDigits)) return false;
    Int128 digits = 0;
    for (const char c : whole) digits = digits * 10 + (c - '0');
    for (const char c : fraction) digits = digits * 10 + (c - '0');
    const Int128 value = digits * pow10(scale_ - int(fraction.size()));
    if (negative && digits == 0) return false;  // no negative zero in a bounded number
    return in_range(negative ? -value : value, digits);
  }

  // Some whole in-range number begins with `text` (less leading spaces).
  bool completable(std::string_view text) const {
    while (text.starts_with(' ')) text.remove_prefix(1);
    const int max_digits = r_.integer ? 26 : kRangedNumberDigits;
    // (Shapes that cannot fit the text are skipped early only to save time: shape_meets checks all.)
    const size_t dot = text.find('.');
    for (const bool negative : {false, true}) {
      if (!text.empty() && negative != (text[0] == '-')) continue;
      for (int whole = 1; whole <= max_digits; ++whole) {
        if (dot != std::string_view::npos && size_t(whole) + negative != dot) continue;
        for (int fraction = 0; whole + fraction <= max_digits && (fraction == 0 || !r_.integer); ++fraction)
          if (shape_meets(text, negative, whole, fraction)) return true;
      }
    }
    return false;
  }

 private:
  // The numbers with this sign, `whole` integer digits and `fraction` fraction digits (none: no dot)
  // that begin with `text`: does one lie in the range?
  bool shape_meets(std::string_view text, bool negative, int whole, int fraction) const {
    // The shape's layout: ['-'] whole digits (the first not 0 when there are more) ['.' fraction digits].
    const size_t sign = negative ? 1 : 0;
    if (text.size() > sign + size_t(whole) + (fraction > 0 ? 1 + size_t(fraction) : 0)) return false;
    Int128 fixed = 0;
    int fixed_digits = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (i < sign) {
        if (c != '-') return false;
        continue;
      }
      const size_t j = i - sign;
      if (j == size_t(whole)) {
        if (c != '.') return false;
        continue;
      }
      if (c < '0' || c > '9' || (j == 0 && whole > 1 && c == '0')) return false;
      fixed = fixed * 10 + (c - '0');
      ++fixed_digits;
    }
    const int free = whole + fraction - fixed_digits;
    // The digits' value is fixed * 10^free + k, k in [k_low, 10^free); the leading digit, when free,
    // is not 0.
    const bool leading_free = fixed_digits == 0 && whole > 1;
    Int128 k_low = leading_free ? pow10(free - 1) : 0, k_high = pow10(free) - 1;
    const Int128 base = fixed * pow10(free), unit = pow10(scale_ - fraction);
    // value(k) = sign * (base + k) * unit: narrow k to the range's bounds.
    auto floor_div = [](Int128 a, Int128 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
    auto ceil_div = [&](Int128 a, Int128 b) { return -floor_div(-a, b); };
    // A bound on the magnitude (base + k) * unit: lower (at least / more than) or upper.
    auto at_least = [&](Int128 magnitude, bool strict) {
      const Int128 k = (strict ? floor_div(magnitude, unit) + 1 : ceil_div(magnitude, unit)) - base;
      k_low = std::max(k_low, k);
    };
    auto at_most = [&](Int128 magnitude, bool strict) {
      const Int128 k = (strict ? ceil_div(magnitude, unit) - 1 : floor_div(magnitude, unit)) - base;
      k_high = std::min(k_high, k);
    };
    if (!negative) {
      if (low_) at_least(*low_, r_.exclusive_min);
      if (high_) at_most(*high_, r_.exclusive_max);
    } else {
      if (high_) at_least(-*high_, r_.exclusive_max);
      if (low_) at_most(-*low_, r_.exclusive_min);
    }
    if (negative) k_low = std::max(k_low, 1 - base);  // no negative zero
    if (k_low > k_high) return false;
    const Int128 m = r_.multiple_of;
    const Int128 first = k_low + ((m - (base + k_low) % m) % m);
    return first <= k_high;
  }

  const Range& r_;
  int scale_;
  std::optional<Int128> low_, high_;
};

struct Walk {
  const JsonMatcher& matcher;
  const JsonMatcher& nested;  // the same node as the items of an array
  const Reference& reference;
  std::string alphabet;
  size_t depth;
  size_t accepted = 0, failures = 0;

  void visit(const std::string& text, const MatcherState& state) {
    if (failures > 20) return;
    const bool can_end = matcher.can_end(state);
    const bool can_continue = matcher.can_continue(state);
    bool grows = false;
    for (const char c : std::string_view("-0123456789.")) grows = grows || reference.completable(text + c);
    if (!text.empty()) {
      check(can_end == reference.complete(text), text, "can_end");
      check(can_continue == grows, text, "can_continue");
    }
    if (text.find_first_not_of(' ') != std::string::npos) {
      // Inside an array, the number ends at the ']' exactly where it is whole and in range.
      MatcherState s = nested.start();
      const bool whole = nested.advance(s, "[" + text + "]") && nested.can_end(s);
      check(whole == reference.complete(text), "[" + text + "]", "nested");
    }
    if (text.size() == depth) return;
    MatcherState next;
    for (const char c : alphabet) {
      const std::string longer = text + c;
      const bool taken = matcher.advance(state, uint8_t(c), next);
      check(taken == reference.completable(longer), longer, "taken");
      if (taken) {
        ++accepted;
        visit(longer, next);
      }
    }
  }

  void check(bool ok, const std::string& text, const char* what) {
    if (ok) return;
    ++failures;
    ADD_FAILURE() << what << " disagrees with the reference at \"" << text << "\"";
  }
};

void walk_all(const Range& r, size_t depth = 5) {
  SCOPED_TRACE(r.name());
  const auto g = compile_json_schema(r.schema());
  const auto array = compile_json_schema(fmt::format(R"({{"type": "array", "items": {}}})", r.schema()));
  const JsonMatcher m(*g), nested(*array);
  const Reference reference(r);
  Walk walk{m, nested, reference, "-0123456789.eE+ ", depth};
  walk.visit("", m.start());
  EXPECT_GT(walk.accepted, 0u);
  EXPECT_EQ(walk.failures, 0u);
}

Range integer(std::optional<std::string> lo, std::optional<std::string> hi, bool ex_lo = false, bool ex_hi = false,
              int64_t m = 1) {
  return {true, std::move(lo), std::move(hi), ex_lo, ex_hi, m};
}
Range number(std::optional<std::string> lo, std::optional<std::string> hi, bool ex_lo = false, bool ex_hi = false) {
  return {false, std::move(lo), std::move(hi), ex_lo, ex_hi, 1};
}

TEST(JsonNumberBounds, IntegerRangesTakeExactlyTheCompletablePrefixes) {
  const std::optional<std::string> none;
  for (const Range& r : {
           integer("0", "5"),
           integer("-5", "0"),
           integer("3", "3"),
           integer("-3", "-3"),
           integer("0", "0"),
           integer("0", "0", false, false, 7),
           integer("10", "19"),
           integer("15", "150"),
           integer("-150", "-15"),
           integer("-37", "420"),
           integer("0", "10", true, true),
           integer("-10", "0", true, true),
           integer("-1", "1", true, true),
           integer("7", none),
           integer(none, "-7"),
           integer("1000", none),
           integer("99999", none, true),
           integer(none, "-100000"),
           integer("-123", "-45"),
           integer("-2.5", "7.5"),
           integer("2.5", "3.5", true, true),
           integer("-9223372036854775808", "18446744073709551615"),
           integer("18446744073709551614", none),
           integer("1000000000000000000", "1000000000000000009"),
           integer(none, "-1000000000000000000"),
       })
    walk_all(r);
}

TEST(JsonNumberBounds, IntegerMultiplesTakeExactlyTheCompletablePrefixes) {
  const std::optional<std::string> none;
  for (const Range& r : {
           integer("-10", "10", false, false, 3),
           integer("100", none, false, false, 7),
           integer("1", "1000", false, false, 10),
           integer("0", "5000", false, false, 1000),
           integer("150", "200", false, false, 97),
           integer(none, none, false, false, 5),
           integer(none, "100", false, false, 12),
           integer("-20", "-1", false, false, 6),
           integer("1", none, false, false, 2147483647),
           integer("10", "30", true, true, 10),
           integer("-9223372036854775808", "18446744073709551615", false, false, 1000000007),
       })
    walk_all(r);
}

TEST(JsonNumberBounds, NumberRangesTakeExactlyTheCompletablePrefixes) {
  const std::optional<std::string> none;
  for (const Range& r : {
           number("0.5", "0.5"),
           number("-1.25", "3"),
           number("0", "1", true, true),
           number("0", "1", false, true),
           number(none, "-1.25", false, true),
           number("0.001", none),
           number("100", "100.5"),
           number("-0.75", "-0.25"),
           number("12345", none),
           number("0", "0"),
           number("-0.5", "0.5", true, true),
           number("-3", "-3"),
           number("99.99", "100.01", true, true),
           number("0", none, true),
           number(none, "0", false, true),
           number("-1000", "-999.9999"),
           // Bounds that only numbers of (nearly) all 15 digits meet.
           number("100000000000000", none),
           number(none, "-100000000000000"),
           number("99999999999999.5", none),
           number("-99999999999999.9", "-99999999999999.8", true, false),
       })
    walk_all(r);
}

TEST(JsonNumberBounds, HugeNumberBoundsAreNoBoundWithinFifteenDigits) {
  // 1e20 and -1e300 lie beyond every number of 15 digits: they bound nothing the output can write.
  for (const char* schema : {R"({"type": "number", "maximum": 1e20})", R"({"type": "number", "minimum": -1e300})",
                             R"({"type": "number", "minimum": -1e300, "maximum": 1e300})"}) {
    SCOPED_TRACE(schema);
    const auto g = compile_json_schema(schema);
    const JsonMatcher m(*g);
    for (const char* text : {"999999999999999", "-99999999999999.9", "0.00000000000001", "-0.5"}) {
      MatcherState s = m.start();
      EXPECT_TRUE(m.advance(s, text) && m.can_end(s)) << text;
    }
  }
}

TEST(JsonNumberBounds, ABoundedNumberHasAtMostFifteenDigitsAndNoExponent) {
  const auto g = compile_json_schema(R"({"type": "number", "minimum": -1e9, "maximum": 1e9})");
  const JsonMatcher m(*g);
  MatcherState s = m.start();
  ASSERT_TRUE(m.advance(s, "-12345.6789012345"));  // 15 digits
  EXPECT_TRUE(m.can_end(s));
  EXPECT_FALSE(m.can_continue(s));
  MatcherState next;
  EXPECT_FALSE(m.advance(s, uint8_t('5'), next));
  s = m.start();
  ASSERT_TRUE(m.advance(s, "0.00000000000001"));
  EXPECT_FALSE(m.can_continue(s));
  s = m.start();
  ASSERT_TRUE(m.advance(s, "1"));
  EXPECT_FALSE(m.advance(s, uint8_t('e'), next));
  EXPECT_FALSE(m.advance(s, uint8_t('E'), next));
  // An unbounded number keeps the whole RFC 8259 grammar.
  const auto free = compile_json_schema(R"({"type": "number"})");
  const JsonMatcher f(*free);
  s = f.start();
  EXPECT_TRUE(f.advance(s, "1.23456789012345678901e-5") && f.can_end(s));
}

// Integers past 2^64 (a side without a bound) keep only their residue: endings are still exact.
TEST(JsonNumberBounds, LongIntegersKeepTheirResidue) {
  std::mt19937 rng(11);
  for (const int64_t m : {int64_t(1), int64_t(7), int64_t(1000), int64_t(2147483647)}) {
    for (const bool negative : {false, true}) {
      const std::string schema = negative ? fmt::format(R"({{"type": "integer", "maximum": -3, "multipleOf": {}}})", m)
                                          : fmt::format(R"({{"type": "integer", "minimum": 3, "multipleOf": {}}})", m);
      SCOPED_TRACE(schema);
      const auto g = compile_json_schema(schema);
      const JsonMatcher matcher(*g);
      MatcherState s = matcher.start(), next;
      std::string text = negative ? "-" : "";
      if (negative) {
        ASSERT_TRUE(matcher.advance(s, "-"));
      }
      int64_t residue = 0;
      for (int i = 0; i < 60; ++i) {
        const char c = char('0' + (i == 0 ? 1 + rng() % 9 : rng() % 10));
        ASSERT_TRUE(matcher.advance(s, uint8_t(c), next)) << text << c;
        std::swap(s, next);
        text += c;
        residue = (residue * 10 + (c - '0')) % m;
        const bool big_enough = i > 0 || (c - '0') >= 3;
        EXPECT_EQ(matcher.can_end(s), big_enough && residue == 0) << text;
        EXPECT_TRUE(matcher.can_continue(s)) << text;
      }
    }
  }
  // A bounded side stops the digits at the bound.
  const auto g = compile_json_schema(R"({"type": "integer", "minimum": 0, "maximum": 18446744073709551615})");
  const JsonMatcher matcher(*g);
  MatcherState s = matcher.start();
  ASSERT_TRUE(matcher.advance(s, "18446744073709551615"));
  EXPECT_TRUE(matcher.can_end(s));
  EXPECT_FALSE(matcher.can_continue(s));
  s = matcher.start();
  EXPECT_FALSE(matcher.advance(s, "18446744073709551616"));
}

TEST(JsonNumberBounds, TopLevelNumbersEndAndGrowWithinTheBounds) {
  const auto g = compile_json_schema(R"({"type": "integer", "maximum": 5})");
  const JsonMatcher m(*g);
  MatcherState s = m.start();
  ASSERT_TRUE(m.advance(s, "5"));
  EXPECT_TRUE(m.can_end(s));
  EXPECT_FALSE(m.can_continue(s));  // 50 > 5
  s = m.start();
  ASSERT_TRUE(m.advance(s, "-5"));
  EXPECT_TRUE(m.can_end(s));
  EXPECT_TRUE(m.can_continue(s));  // -50
  const auto tens = compile_json_schema(R"({"type": "integer", "minimum": 1, "maximum": 99, "multipleOf": 10})");
  const JsonMatcher t(*tens);
  s = t.start();
  ASSERT_TRUE(t.advance(s, "7"));
  EXPECT_FALSE(t.can_end(s));
  EXPECT_TRUE(t.can_continue(s));
  MatcherState next;
  EXPECT_FALSE(t.advance(s, uint8_t('3'), next));  // 73, and 730 is past the maximum
  EXPECT_TRUE(t.advance(s, uint8_t('0'), next) && t.can_end(next));
  EXPECT_FALSE(t.can_continue(next));
  s = t.start();
  EXPECT_FALSE(t.advance(s, "0"));  // 0 is below the minimum
}

}  // namespace
}  // namespace turbine
