// Strings held to minLength/maxLength/pattern/format, byte by byte through the JSON matcher: lengths
// count code points of the decoded string (escapes, surrogate pairs, UTF-8), the pattern sees decoded
// characters, a byte is taken only where the string can still be finished (no dead ends, checked by
// search), and the closing quote comes exactly when the decoded text fits (checked against
// std::regex, an engine independent of ours, on every short string of a small alphabet).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "guided/json_matcher.h"
#include "guided/json_schema.h"
#include "unit/grammar_matches.h"

namespace turbine {
namespace {

std::shared_ptr<const JsonGrammar> schema(const std::string& json) { return compile_json_schema(json); }
bool matches(const JsonGrammar& g, std::string_view text) { return test::grammar_matches(g, text); }

// Bytes taken before the first rejection (text.size() when all are).
size_t accepted_prefix(const JsonGrammar& g, std::string_view text) {
  const JsonMatcher m(g);
  MatcherState s = m.start(), next;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!m.advance(s, uint8_t(text[i]), next)) return i;
    std::swap(s, next);
  }
  return text.size();
}

// Every byte that may follow `prefix`, in byte order.
std::string next_bytes(const JsonGrammar& g, std::string_view prefix) {
  const JsonMatcher m(g);
  MatcherState s = m.start(), next;
  EXPECT_TRUE(m.advance(s, prefix)) << prefix;
  std::string out;
  for (int b = 0; b < 256; ++b)
    if (m.advance(s, uint8_t(b), next)) out += char(b);
  return out;
}

MatcherState state_after(const JsonGrammar& g, std::string_view prefix) {
  const JsonMatcher m(g);
  MatcherState s = m.start();
  EXPECT_TRUE(m.advance(s, prefix)) << prefix;
  return s;
}

TEST(ConstrainedString, LengthsCountCodePointsOfTheDecodedString) {
  const auto g = schema(R"({"type": "string", "minLength": 2, "maxLength": 3})");
  for (const char* text :
       {R"("ab")", R"("abc")", "\"\xC3\xA9\xC3\xA9\"", "\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"",
        R"("\n\u00e9")", R"("\ud83d\ude00x")", R"("\"\\\/")", R"("\uD83D\uDE00\uD83D\uDE00")"})
    EXPECT_TRUE(matches(*g, text)) << text;
  EXPECT_EQ(accepted_prefix(*g, R"("a")"), 2u);  // the quote, one code point short
  EXPECT_EQ(accepted_prefix(*g, "\"\xF0\x9F\x98\x80\""), 5u);
  EXPECT_EQ(accepted_prefix(*g, R"("\u00e9")"), 7u);
  EXPECT_EQ(accepted_prefix(*g, R"("abcd")"), 4u);  // a fourth code point
  EXPECT_EQ(accepted_prefix(*g, "\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\""), 7u);
  EXPECT_EQ(accepted_prefix(*g, R"("\ud83d\ude00\ud83d\ude00\ud83d\ude00\ud83d\ude00")"), 37u);
  EXPECT_EQ(accepted_prefix(*g, "\"a\nb\""), 2u);  // a raw control character is still no JSON
  EXPECT_EQ(next_bytes(*g, R"("abc)"), "\"");
  EXPECT_EQ(next_bytes(*g, R"(")").find('"'), std::string::npos);
  // Spaces inside the string are text, not the whitespace between JSON tokens that the matcher caps.
  const auto spaces = schema(R"({"type": "string", "maxLength": 10})");
  EXPECT_TRUE(matches(*spaces, "\"         a\""));
  const auto exact = schema(R"({"type": "string", "minLength": 0, "maxLength": 0})");
  EXPECT_TRUE(matches(*exact, R"("")"));
  EXPECT_EQ(next_bytes(*exact, R"(")"), "\"");
}

TEST(ConstrainedString, ThePatternSeesDecodedCharacters) {
  const auto newline = schema(R"({"type": "string", "pattern": "^a\\nb$"})");
  EXPECT_TRUE(matches(*newline, R"("a\nb")"));
  EXPECT_TRUE(matches(*newline, R"("a\u000Ab")"));
  EXPECT_TRUE(matches(*newline, R"("\u0061\u000a\u0062")"));
  EXPECT_EQ(accepted_prefix(*newline, "\"a\nb\""), 2u);  // raw: not JSON
  EXPECT_EQ(accepted_prefix(*newline, R"("anb")"), 2u);
  EXPECT_EQ(accepted_prefix(*newline, R"("a\tb")"), 3u);
  const auto quotes = schema(R"({"type": "string", "pattern": "^\"\\\\/$"})");  // the regex ^"\\/$
  EXPECT_TRUE(matches(*quotes, R"("\"\\/")"));
  EXPECT_TRUE(matches(*quotes, R"("\"\\\/")"));
  EXPECT_TRUE(matches(*quotes, R"("\u0022\u005C\u002f")"));
  EXPECT_EQ(next_bytes(*quotes, R"(")"), "\\");  // a quote and a backslash can only come escaped
}

TEST(ConstrainedString, EscapesAreTakenOnlyWhereTheyCanEndInAnAllowedCharacter) {
  const auto abc = schema(R"({"type": "string", "pattern": "^[a-c]+$"})");
  EXPECT_EQ(next_bytes(*abc, R"(")"), "\\abc");
  EXPECT_EQ(next_bytes(*abc, R"("\)"), "u");  // no short escape stands for a, b or c
  EXPECT_EQ(next_bytes(*abc, R"("\u)"), "0");
  EXPECT_EQ(next_bytes(*abc, R"("\u0)"), "0");
  EXPECT_EQ(next_bytes(*abc, R"("\u00)"), "6");
  EXPECT_EQ(next_bytes(*abc, R"("\u006)"), "123");
  EXPECT_EQ(next_bytes(*abc, R"("\u0062)"), "\"\\abc");
  const auto e_acute = schema(R"({"type": "string", "pattern": "^é$"})");
  EXPECT_EQ(next_bytes(*e_acute, R"(")"), "\\\xC3");
  EXPECT_EQ(next_bytes(*e_acute, "\"\xC3"), "\xA9");
  EXPECT_EQ(next_bytes(*e_acute, R"("\u00)"), "Ee");
  EXPECT_EQ(next_bytes(*e_acute, R"("\u00E)"), "9");
  EXPECT_TRUE(matches(*e_acute, R"("\u00e9")"));
  EXPECT_TRUE(matches(*e_acute, "\"\xC3\xA9\""));
  const auto tab = schema(R"({"type": "string", "pattern": "^\\t$"})");
  EXPECT_EQ(next_bytes(*tab, R"("\)"), "tu");
}

TEST(ConstrainedString, SurrogatePairsAreOneCodePoint) {
  const auto grin = schema(R"({"type": "string", "pattern": "^😀$"})");
  EXPECT_TRUE(matches(*grin, R"("\ud83d\ude00")"));
  EXPECT_TRUE(matches(*grin, R"("\uD83D\uDE00")"));
  EXPECT_TRUE(matches(*grin, "\"\xF0\x9F\x98\x80\""));
  EXPECT_EQ(next_bytes(*grin, R"("\ud83)"), "Dd");
  EXPECT_EQ(next_bytes(*grin, R"("\ud83d)"), "\\");  // the low half must follow
  EXPECT_EQ(next_bytes(*grin, R"("\ud83d\)"), "u");
  EXPECT_EQ(next_bytes(*grin, R"("\ud83d\u)"), "Dd");
  EXPECT_EQ(next_bytes(*grin, R"("\ud83d\ude0)"), "0");
  EXPECT_EQ(next_bytes(*grin, "\"\xF0\x9F\x98"), "\x80");
  EXPECT_EQ(accepted_prefix(*grin, R"("\ud83e\ude00")"), 6u);
  // Lone halves are refused in constrained strings, whatever the pattern.
  const auto one = schema(R"({"type": "string", "maxLength": 1})");
  EXPECT_TRUE(matches(*one, R"("\ud83d\ude00")"));
  EXPECT_TRUE(matches(*one, "\"\xF0\x9F\x98\x80\""));
  EXPECT_EQ(accepted_prefix(*one, R"("\ude00")"), 4u);
  EXPECT_EQ(accepted_prefix(*one, R"("\ud800")"), 7u);
  EXPECT_EQ(accepted_prefix(*one, R"("\ud800\u0041")"), 9u);
  EXPECT_EQ(accepted_prefix(*one, R"("ab")"), 2u);
}

TEST(ConstrainedString, Utf8IsValidatedAndNarrowedByThePattern) {
  const auto latin = schema(R"({"type": "string", "pattern": "^[à-ÿ]$"})");  // U+00E0..U+00FF
  EXPECT_EQ(next_bytes(*latin, R"(")"), "\\\xC3");
  std::string second;
  for (int b = 0xA0; b <= 0xBF; ++b) second += char(b);
  EXPECT_EQ(next_bytes(*latin, "\"\xC3"), second);
  const auto any = schema(R"({"type": "string", "maxLength": 4})");
  EXPECT_EQ(accepted_prefix(*any, "\"\xC0\xAF\""), 1u);          // overlong lead
  EXPECT_EQ(accepted_prefix(*any, "\"\xE0\x80\x80\""), 2u);      // overlong three-byte form
  EXPECT_EQ(accepted_prefix(*any, "\"\xED\xA0\x80\""), 2u);      // a surrogate in UTF-8
  EXPECT_EQ(accepted_prefix(*any, "\"\xF4\x90\x80\x80\""), 2u);  // past U+10FFFF
  EXPECT_EQ(accepted_prefix(*any, "\"\xF5\""), 1u);
  EXPECT_EQ(accepted_prefix(*any, "\"\xE2\x28\""), 2u);
  EXPECT_TRUE(matches(*any, "\"\xF4\x8F\xBF\xBF\xEF\xBF\xBD\xE4\xB8\xAD\xC2\x80\""));
}

TEST(ConstrainedString, LengthBoundsAndPatternTogether) {
  const auto g = schema(R"({"type": "string", "pattern": "^a+$", "maxLength": 3})");
  EXPECT_EQ(next_bytes(*g, R"("aaa)"), "\"");
  EXPECT_EQ(next_bytes(*g, R"("aa)"), "\"\\a");
  const auto pairs = schema(R"({"type": "string", "pattern": "^(ab)+$", "maxLength": 3})");
  EXPECT_EQ(next_bytes(*pairs, R"("ab)"), "\"");  // "abab" would be too long
  const auto longer = schema(R"({"type": "string", "pattern": "^a+$", "minLength": 2})");
  EXPECT_EQ(next_bytes(*longer, R"("a)"), "\\a");
  EXPECT_EQ(next_bytes(*longer, R"("aa)"), "\"\\a");
  // Only one of the alternatives fits the bound: the other's first character is refused.
  const auto either = schema(R"({"type": "string", "pattern": "^a{2}$|^b{5}$", "maxLength": 3})");
  EXPECT_EQ(next_bytes(*either, R"(")"), "\\a");
  const auto gaps = schema(R"({"type": "string", "pattern": "^(aaaa)+$", "minLength": 1, "maxLength": 5})");
  EXPECT_TRUE(matches(*gaps, R"("aaaa")"));
  EXPECT_EQ(next_bytes(*gaps, R"("aaaa)"), "\"");
}

TEST(ConstrainedString, TypeListsConstrainOnlyTheStringBranchAndKeysStayFree) {
  const auto nullable = schema(R"({"type": ["string", "null"], "maxLength": 2})");
  EXPECT_TRUE(matches(*nullable, "null"));
  EXPECT_TRUE(matches(*nullable, R"("ab")"));
  EXPECT_FALSE(matches(*nullable, R"("abc")"));
  const auto dated = schema(R"({"type": ["integer", "string"], "format": "date"})");
  EXPECT_TRUE(matches(*dated, "12"));
  EXPECT_TRUE(matches(*dated, R"("2024-01-31")"));
  EXPECT_FALSE(matches(*dated, R"("2024-1-31")"));
  const auto map = schema(R"({"type": "object", "additionalProperties": {"type": "string", "maxLength": 1}})");
  EXPECT_TRUE(matches(*map, R"({"a rather long key": "a", "k": ""})"));
  EXPECT_FALSE(matches(*map, R"({"k": "ab"})"));
}

TEST(ConstrainedString, StatesAreTheSameExactlyWhenWhatMayFollowIs) {
  const auto g = schema(R"({"type": "string", "pattern": "^[ab]+$", "maxLength": 4})");
  EXPECT_EQ(state_after(*g, R"("ab)"), state_after(*g, R"("\u0061b)"));
  EXPECT_EQ(state_after(*g, R"("ab)"), state_after(*g, R"("ba)"));
  EXPECT_NE(state_after(*g, R"("ab)"), state_after(*g, R"("abb)"));  // one more counted
  const auto unbounded = schema(R"({"type": "string", "pattern": "^[ab]+$"})");
  EXPECT_EQ(state_after(*unbounded, R"("ab)"), state_after(*unbounded, R"("abbab)"));  // nothing to count
  EXPECT_NE(state_after(*unbounded, R"("\u006)"), state_after(*unbounded, R"("\u00)"));
}

// Search: a completion of `s` exists (over all bytes, states seen once, at most `budget` of them).
bool completes(const JsonMatcher& m, const MatcherState& s, std::set<std::string>& seen, size_t budget) {
  if (m.can_end(s)) return true;
  if (!seen.insert(std::string(s.key())).second || seen.size() > budget) return false;
  MatcherState next;
  // The quote first: completions are found sooner.
  if (m.advance(s, uint8_t('"'), next) && completes(m, next, seen, budget)) return true;
  for (int b = 0; b < 256; ++b)
    if (b != '"' && m.advance(s, uint8_t(b), next) && completes(m, next, seen, budget)) return true;
  return false;
}

// Every prefix of up to `depth` bytes of `alphabet` that the matcher takes can still be completed.
void expect_no_dead_ends(const std::string& schema_json, std::string_view alphabet, size_t depth) {
  SCOPED_TRACE(schema_json);
  const auto g = schema(schema_json);
  const JsonMatcher m(*g);
  std::set<std::string> visited = {std::string(m.start().key())};
  std::vector<std::pair<MatcherState, std::string>> layer = {{m.start(), ""}};
  size_t checked = 0;
  for (size_t d = 0; d < depth && !layer.empty(); ++d) {
    std::vector<std::pair<MatcherState, std::string>> next_layer;
    for (const auto& [state, prefix] : layer) {
      for (char c : alphabet) {
        MatcherState next;
        if (!m.advance(state, uint8_t(c), next) || !visited.insert(std::string(next.key())).second) continue;
        std::set<std::string> seen;
        ASSERT_TRUE(completes(m, next, seen, 20000)) << "dead end after " << prefix + c;
        ++checked;
        next_layer.emplace_back(std::move(next), prefix + c);
      }
    }
    layer = std::move(next_layer);
  }
  EXPECT_GE(checked, 10u);
}

TEST(ConstrainedString, EveryTakenPrefixCanBeCompleted) {
  // Bytes that open escapes, begin UTF-8 sequences and hex digits that lead anywhere.
  const std::string alphabet = "\"\\u0dD8e1a6b-3\xC3\xA9\xF0\x9F\x98\x80[,]";
  for (const char* s : {
           R"({"type": "string", "pattern": "^a+b?$", "maxLength": 3})",
           R"({"type": "string", "pattern": "^[a-c]{2}$"})",
           R"({"type": "string", "pattern": "^(ab|é)*$", "minLength": 1, "maxLength": 3})",
           R"({"type": "string", "pattern": "^😀|^a\\u0001", "maxLength": 2})",
           R"({"type": "string", "pattern": "^\\d+-?$", "minLength": 2})",
           R"({"type": "string", "minLength": 1, "maxLength": 2})",
           R"({"type": "string", "format": "date"})",
           R"({"type": "string", "format": "uuid", "pattern": "^0"})",
           R"({"type": "array", "items": {"type": "string", "pattern": "^[ab]$"}, "maxItems": 2})",
       })
    expect_no_dead_ends(s, alphabet, 8);
  expect_no_dead_ends(R"({"type": "string", "format": "date"})", "\"0123-\\u", 12);
}

// The decoded texts: every string of up to 4 characters of "ab-\n\"" (std::regex reads them as
// bytes, which these are).
std::vector<std::string> short_texts() {
  std::vector<std::string> out = {""};
  for (size_t begin = 0, length = 0; length < 4; ++length) {
    const size_t end = out.size();
    for (size_t i = begin; i < end; ++i)
      for (char c : std::string("ab-\n\"")) out.push_back(out[i] + c);
    begin = end;
  }
  return out;
}

// `text` as a JSON string: characters escaped short, \u-escaped, or raw where JSON allows.
std::string json_string(const std::string& text, int style) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (style == 1 || (style == 2 && i % 2 == 1))
      out += fmt::format("\\u{:04x}", int(c));
    else if (c == '\n')
      out += "\\n";
    else if (c == '"')
      out += "\\\"";
    else
      out += c;
  }
  return out + "\"";
}

TEST(ConstrainedString, TheClosingQuoteComesExactlyWhenTheTextFits) {
  const std::vector<std::string> patterns = {"^a+b?$", "a-", "^(ab|b)*$", "^[^\\n]*$", "\"", "^a?-?b?$", "b$", "^$|^-"};
  const std::vector<std::pair<int, int>> bounds = {{0, -1}, {1, 3}, {2, 2}, {0, 1}, {3, -1}};
  const std::vector<std::string> texts = short_texts();
  size_t fitting = 0;
  for (const std::string& pattern : patterns) {
    const std::regex reference(pattern, std::regex::ECMAScript);
    for (const auto& [min, max] : bounds) {
      std::string s =
          fmt::format(R"({{"type": "string", "pattern": {}, "minLength": {})", nlohmann::json(pattern).dump(), min);
      if (max >= 0) s += fmt::format(R"(, "maxLength": {})", max);
      s += "}";
      std::shared_ptr<const JsonGrammar> g;
      try {
        g = schema(s);
      } catch (const JsonSchemaError& e) {
        // Only bounds that no matching text fits are refused.
        for (const std::string& text : texts)
          EXPECT_FALSE(std::regex_search(text, reference) && int(text.size()) >= min &&
                       (max < 0 || int(text.size()) <= max))
              << s << " refused (" << e.what() << ") but \"" << text << "\" fits";
        continue;
      }
      for (const std::string& text : texts) {
        const bool fits =
            std::regex_search(text, reference) && int(text.size()) >= min && (max < 0 || int(text.size()) <= max);
        fitting += fits;
        for (int style = 0; style < 3; ++style)
          ASSERT_EQ(matches(*g, json_string(text, style)), fits) << s << " on " << json_string(text, style);
      }
    }
  }
  EXPECT_GT(fitting, 500u);
}

}  // namespace
}  // namespace turbine
