// The pattern automata (regex_syntax.h, regex_compile.h, regex_dfa.h): whole strings matched as
// JSON Schema means a pattern (found anywhere unless anchored), for every supported construct; a
// RegexError naming each unsupported one; the size limits; intersections and length automata.
//
// The expectations of kMatchCases and kEcmaCases were cross-checked once, while this was written,
// against independent engines: tests/unit/regex_cases_check.py reads the tables below and runs each
// case through Python's re (re.search, a final `$` written `\Z` since Python's `$` also matches before
// a final newline; re.ASCII, as ECMA's \d and \w are ASCII) and through Node's RegExp with the "u"
// flag (ECMA-262 itself). kEcmaCases hold what Python reads differently from ECMA-262 (`.` and \r,
// ECMA's \s, `\u{...}`, `\cX`, a `\uD83D\uDE00` pair, `(?<name>`, `{,n}`, `[]`, `[^]`), checked with
// Node only. No Python runs here.
#include <gtest/gtest.h>

#include <chrono>

#include "guided/regex_compile.h"
#include "guided/regex_syntax.h"
#include "guided/string_formats.h"

namespace turbine {
namespace {

std::u32string code_points(std::string_view utf8) {
  std::u32string out;
  for (size_t i = 0; i < utf8.size();) {
    const auto lead = uint8_t(utf8[i]);
    const size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    char32_t c = length == 1 ? lead : lead & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) c = (c << 6) | (uint8_t(utf8[i + k]) & 0x3F);
    out += c;
    i += length;
  }
  return out;
}

bool accepts(const RegexDfa& dfa, std::string_view utf8) {
  if (dfa.empty()) return false;
  int32_t state = RegexDfa::kStart;
  for (char32_t c : code_points(utf8))
    if ((state = dfa.step(state, c)) < 0) return false;
  return dfa.accepting(state);
}

std::string error_of(std::string_view pattern) {
  try {
    compile_regex(pattern);
  } catch (const RegexError& e) {
    return e.what();
  }
  return "no error";
}

struct MatchCase {
  const char* pattern;
  const char* text;
  bool matches;
};

// clang-format off
const MatchCase kMatchCases[] = {
    // Unanchored: found anywhere; ^ and $ anchor.
    {R"(abc)", "abc", true}, {R"(abc)", "xxabcxx", true}, {R"(abc)", "ab", false}, {R"(abc)", "", false},
    {R"(^abc)", "abcx", true}, {R"(^abc)", "xabc", false}, {R"(abc$)", "xabc", true}, {R"(abc$)", "abcx", false},
    {R"(^abc$)", "abc", true}, {R"(^abc$)", "abcc", false}, {R"(^abc$)", "abc\n", false},
    {R"(^$)", "", true}, {R"(^$)", "a", false}, {R"(^)", "anything", true}, {R"($)", "", true},
    {R"()", "x", true},
    // Anchors bind to their top-level alternative.
    {R"(^a|b$)", "ax", true}, {R"(^a|b$)", "xb", true}, {R"(^a|b$)", "xa", false}, {R"(^a|b$)", "bx", false},
    {R"(a|^b)", "xax", true}, {R"(a|^b)", "bx", true}, {R"(a|^b)", "xb", false},
    // Dot: any code point but a line terminator.
    {R"(^.$)", "a", true}, {R"(^.$)", "\u00e9", true}, {R"(^.$)", "\U0001F600", true}, {R"(^.$)", "\n", false},
    {R"(^.$)", "ab", false}, {R"(^.$)", "", false}, {R"(^a.c$)", "a\tc", true},
    // Classes.
    {R"(^[a-z0-9_]+$)", "abc_09", true}, {R"(^[a-z0-9_]+$)", "abC", false}, {R"(^[a-z0-9_]+$)", "", false},
    {R"(^[^a-z]+$)", "ABC 1", true}, {R"(^[^a-z]+$)", "AbC", false}, {R"(^[^a-z]$)", "\U0001F600", true},
    {R"(^[-a]$)", "-", true}, {R"(^[a-]$)", "-", true}, {R"(^[a-]$)", "b", false},
    {R"(^[\d.]+$)", "1.5", true}, {R"(^[\d.]+$)", "1,5", false}, {R"(^[\w-]+$)", "a-b_c9", true},
    {R"(^[\w-]+$)", "a b", false}, {R"(^[\s]$)", " ", true}, {R"(^[\s]$)", "\t", true}, {R"(^[\s]$)", "a", false},
    {R"(^[^\s]+$)", "ab", true}, {R"(^[^\s]+$)", "a b", false}, {R"(^[\D]$)", "x", true}, {R"(^[\D]$)", "5", false},
    {R"(^[\]]$)", "]", true}, {R"(^[\\]$)", "\\", true}, {R"(^[\-x]$)", "-", true}, {R"(^[.]$)", "a", false},
    {R"(^[\b]$)", "\b", true}, {R"(^[a-cx-z]+$)", "abxz", true}, {R"(^[a-cx-z]+$)", "abd", false},
    {R"(^[é-ë]$)", "\u00ea", true}, {R"(^[é-ë]$)", "e", false}, {R"(^[😀-😂]$)", "\U0001F601", true},
    {R"(^[😀-😂]$)", "\U0001F603", false}, {R"(^[\u0041-\u0043]+$)", "ABC", true}, {R"(^[\x41-\x43]+$)", "ABD", false},
    // Class escapes.
    {R"(^\d\D$)", "1a", true}, {R"(^\d\D$)", "11", false}, {R"(^\w\W$)", "a!", true}, {R"(^\w\W$)", "a_", false},
    {R"(^\s\S$)", " x", true}, {R"(^\s\S$)", "  ", false}, {R"(^\S$)", "\u00e9", true}, {R"(^\d$)", "\u0663", false},
    {R"(^\w$)", "\u00e9", false},
    // Escaped punctuation and character escapes.
    {R"(^\.$)", ".", true}, {R"(^\.$)", "a", false}, {R"(^\-$)", "-", true}, {R"(^\\$)", "\\", true},
    {R"(^\/$)", "/", true}, {R"(^\($)", "(", true}, {R"(^\*\+\?$)", "*+?", true}, {R"(^\{\}$)", "{}", true},
    {R"(^\|$)", "|", true}, {R"(^\[\]$)", "[]", true}, {R"(^\^\$$)", "^$", true}, {R"(^\"$)", "\"", true},
    {R"(^\t\n\r\f\v$)", "\t\n\r\f\v", true}, {R"(^\u00e9$)", "\u00e9", true}, {R"(^\u00E9$)", "e", false},
    {R"(^\x41$)", "A", true}, {R"(^é+$)", "\u00e9\u00e9", true}, {R"(^é+$)", "e", false},
    {R"(^😀$)", "\U0001F600", true}, {R"(^😀$)", "\U0001F601", false},
    // Groups and alternation.
    {R"(^(ab)+$)", "abab", true}, {R"(^(ab)+$)", "aba", false}, {R"(^(?:ab|cd)*$)", "abcdab", true},
    {R"(^(?:ab|cd)*$)", "", true}, {R"(^(?:ab|cd)*$)", "ac", false}, {R"(^()$)", "", true},
    {R"(^(cat|dog)s?$)", "dogs", true}, {R"(^(cat|dog)s?$)", "cow", false}, {R"(^(|a)$)", "", true},
    {R"(^(|a)$)", "a", true}, {R"(a|b|c)", "xcx", true}, {R"(a|b|c)", "xyz", false},
    {R"(^((a|b)c)+$)", "acbc", true}, {R"(^((a|b)c)+$)", "acb", false}, {R"(^(a(b(c)))$)", "abc", true},
    // Quantifiers, greedy and lazy.
    {R"(^a*$)", "", true}, {R"(^a*$)", "aaa", true}, {R"(^a*$)", "b", false}, {R"(^a+$)", "", false},
    {R"(^a?$)", "a", true}, {R"(^a?$)", "aa", false}, {R"(^a{3}$)", "aaa", true}, {R"(^a{3}$)", "aa", false},
    {R"(^a{3}$)", "aaaa", false}, {R"(^a{2,}$)", "aa", true}, {R"(^a{2,}$)", "a", false},
    {R"(^a{2,}$)", "aaaaaaa", true}, {R"(^a{2,4}$)", "aaaa", true}, {R"(^a{2,4}$)", "aaaaa", false},
    {R"(^a{2,4}$)", "a", false}, {R"(^a{0}b$)", "b", true}, {R"(^a{0,0}b$)", "ab", false},
    {R"(^a+?$)", "aaa", true}, {R"(^a*?b$)", "aab", true}, {R"(^a{2,3}?$)", "aaa", true},
    {R"(^a??b$)", "b", true}, {R"(^(a|b){2}$)", "ba", true}, {R"(^(a|b){2}$)", "bab", false},
    {R"(^(ab){1,2}c$)", "ababc", true}, {R"(^(ab){1,2}c$)", "abababc", false}, {R"(^(a*)*$)", "aa", true},
    {R"(^(a?){3}$)", "a", true}, {R"(\d{3})", "ab123cd", true}, {R"(\d{3})", "12", false},
    // Braces that are no quantifier, and a lone bracket: literals.
    {R"(^a{$)", "a{", true}, {R"(^x}$)", "x}", true}, {R"(^]$)", "]", true}, {R"(^a{x}$)", "a{x}", true},
    // The schemas of the server tests.
    {R"(^[A-Z]{3}-[0-9]{2}$)", "ABC-12", true}, {R"(^[A-Z]{3}-[0-9]{2}$)", "AB-12", false},
    {R"(^[A-Z]{3}-[0-9]{2}$)", "ABC-123", false},
};

// What Python's re reads differently from ECMA-262: checked against Node's RegExp (with "u") only.
const MatchCase kEcmaCases[] = {
    {R"(^.$)", "\r", false}, {R"(^.$)", "\u2028", false}, {R"(^\s$)", "\u00a0", true}, {R"(^\s$)", "\ufeff", true},
    {R"(^\s$)", "\u0085", false}, {R"(^\u{1F600}$)", "\U0001F600", true}, {R"(^\uD83D\uDE00$)", "\U0001F600", true},
    {R"(^\cJ$)", "\n", true}, {R"(^(?<year>\d{4})-\d\d$)", "2024-01", true}, {R"(^a{,2}$)", "a{,2}", true},
    {R"(^a{,2}$)", "aa", false}, {R"(^[^]$)", "\n", true}, {R"(^[]$)", "", false}, {R"(^[]$)", "]", false},
    {R"(^\u{41}+$)", "AA", true},
};
// clang-format on

TEST(RegexDfa, MatchesWholeStringsAsReferenceEnginesDo) {
  for (const auto& cases : {std::span<const MatchCase>(kMatchCases), std::span<const MatchCase>(kEcmaCases)}) {
    for (const MatchCase& c : cases) {
      const RegexDfa dfa = compile_regex(c.pattern);
      EXPECT_EQ(accepts(dfa, c.text), c.matches) << "pattern " << c.pattern << " text \"" << c.text << "\"";
    }
  }
}

TEST(RegexDfa, UnsupportedConstructsAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"(?=a)", "lookahead \"(?=\" is not supported (at character 0)"},
      {"a(?!b)", "lookahead \"(?!\" is not supported (at character 1)"},
      {"(?<=a)b", "lookbehind \"(?<=\" is not supported"},
      {"(?<!a)b", "lookbehind \"(?<!\" is not supported"},
      {"\\bword", "a word boundary \"\\b\" is not supported (at character 0)"},
      {"a\\B", "a word boundary \"\\B\" is not supported"},
      {"(a)\\1", "a backreference \"\\1\" is not supported (at character 3)"},
      {"(?<n>a)\\k<n>", "a named backreference \"\\k\" is not supported"},
      {"\\p{L}", "a Unicode property escape \"\\p\" is not supported"},
      {"\\P{L}", "a Unicode property escape \"\\P\" is not supported"},
      {"a^b", "the anchor \"^\" is supported only at the start of the pattern or of a top-level alternative"},
      {"(^a)", "the anchor \"^\""},
      {"a$b", "the anchor \"$\" is supported only at the end of the pattern or of a top-level alternative"},
      {"(a$)", "the anchor \"$\""},
      {"(?i)a", "the group syntax \"(?i\" is not supported"},
      {"\\q", "the escape \"\\q\" is not supported"},
      {"\\A", "the escape \"\\A\" is not supported"},
      {"\\01", "an octal escape \"\\01\" is not supported"},
      {"*a", "nothing to repeat before \"*\" (at character 0)"},
      {"a|+", "nothing to repeat before \"+\""},
      {"{2}", "nothing to repeat before \"{\""},
      {"a**", "a quantifier right after another (at character 2)"},
      {"a{2}{3}", "a quantifier right after another"},
      {"a+?+", "a quantifier right after another"},
      {"(ab", "a group \"(\" that is not closed"},
      {"ab)", "\")\" without a \"(\" (at character 2)"},
      {"[ab", "a class \"[\" that is not closed"},
      {"[z-a]", "a class range out of order"},
      {"[\\d-z]", "a class range with a class escape at one end"},
      {"a{1001}", "a repetition count over 1000 is not supported"},
      {"a{3,2}", "a repetition {n,m} with n greater than m"},
      {"ab\\", "the pattern ends with \"\\\""},
      {"\\x4g", "\"\\x\" without two hex digits"},
      {"\\u12", "\"\\u\" without four hex digits"},
      {"\\u{110000}", "\"\\u{...}\" that is not a code point"},
      {"(?<1>a)", "a group name \"(?<name>\" that is not well formed"},
      {std::string(101, '(') + std::string(101, ')'), "groups nested more than 100 deep"},
  };
  for (const auto& [pattern, error] : cases)
    EXPECT_NE(error_of(pattern).find(error), std::string::npos) << pattern << ": " << error_of(pattern);
}

TEST(RegexDfa, SizeLimitsFailFastInsteadOfHanging) {
  const auto start = std::chrono::steady_clock::now();
  // 2^15 subsets: the determinization stops at kMaxDfaStates.
  EXPECT_EQ(error_of("(a|b)*a(a|b){14}"), "the pattern's automaton would have over 8192 states");
  // A counted repetition of a counted repetition: stopped while its copies are made.
  EXPECT_EQ(error_of("(a{1,1000}){1,1000}"),
            "the pattern is too large (over 50000 automaton states before determinization)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // A long but linear repetition is fine.
  const RegexDfa long_run = compile_regex("^[a-z]{1,1000}$");
  EXPECT_EQ(long_run.size(), 1001);
  EXPECT_TRUE(accepts(long_run, std::string(1000, 'q')));
  EXPECT_FALSE(accepts(long_run, std::string(1001, 'q')));
}

TEST(RegexDfa, AutomataAreTrimmedMinimalAndCanonical) {
  // Equal languages written differently give equal automata.
  EXPECT_EQ(compile_regex("^(a|b)*$"), compile_regex("^[ab]*$"));
  EXPECT_EQ(compile_regex("^a+$"), compile_regex("^aa*$"));
  EXPECT_EQ(compile_regex("x"), compile_regex("^[\\s\\S]*x[\\d\\D]*$|^[^]*x[^]*$"));
  EXPECT_NE(compile_regex("^a+$"), compile_regex("^a*$"));
  EXPECT_EQ(compile_regex("^a+$").size(), 2);
  // No state is a dead end: shortest() is finite everywhere, and 0 exactly where accepting.
  const RegexDfa dfa = compile_regex("^(ab|cde)+f?$");
  for (int32_t s = 0; s < dfa.size(); ++s) {
    EXPECT_EQ(dfa.shortest(s) == 0, dfa.accepting(s));
    for (const RegexDfa::Edge& e : dfa.edges(s)) EXPECT_EQ(dfa.shortest(s) <= dfa.shortest(e.target) + 1, true);
  }
  EXPECT_EQ(dfa.shortest(RegexDfa::kStart), 2);
  // A pattern that matches nothing gives an empty automaton (the schema compiler reports it).
  EXPECT_TRUE(compile_regex("^[]$").empty());
  EXPECT_TRUE(compile_regex("^\\uD800$").empty());  // a lone surrogate is no code point of a string
}

TEST(RegexDfa, IntersectionsAndLengths) {
  const RegexDfa at_least_two = RegexDfa::at_least(2);
  EXPECT_EQ(at_least_two.size(), 3);
  EXPECT_FALSE(accepts(at_least_two, "\U0001F600"));
  EXPECT_TRUE(accepts(at_least_two, "\U0001F600\u00e9"));
  const RegexDfa both = intersect(compile_regex("^a+b*$"), RegexDfa::at_least(3));
  EXPECT_FALSE(accepts(both, "ab"));
  EXPECT_TRUE(accepts(both, "abb"));
  EXPECT_TRUE(accepts(both, "aaa"));
  EXPECT_EQ(both.shortest(RegexDfa::kStart), 3);
  EXPECT_TRUE(intersect(compile_regex("^a{2}$"), RegexDfa::at_least(3)).empty());
  EXPECT_EQ(intersect(compile_regex("^a+$"), RegexDfa::at_least(0)), compile_regex("^a+$"));
  EXPECT_THROW(RegexDfa::at_least(kMaxDfaStates), RegexError);
}

struct FormatCase {
  const char* format;
  std::vector<std::string> valid, invalid;
};

TEST(RegexDfa, FormatsTakeWhatTheirStandardsDefine) {
  const std::vector<FormatCase> cases = {
      {"date-time",
       {"2024-01-31T12:00:00Z", "2024-01-31t23:59:60z", "1999-12-31T00:00:00.123456+02:00",
        "2024-02-29T01:02:03-11:30"},
       {"2024-02-31T01:02:03-11:30", "2024-01-31 12:00:00Z", "2024-01-31T12:00:00", "2024-13-01T00:00:00Z",
        "2024-01-32T00:00:00Z", "2024-01-31T24:00:00Z", "2024-01-31T12:00Z", "2024-01-31T12:00:00.Z",
        "2024-01-31T12:00:00+2:00"}},
      {"date",
       {"2024-01-31", "0000-12-01", "2024-02-29", "2000-02-29", "1996-02-29", "2023-02-28", "2023-04-30", "2023-12-31",
        "0004-02-29"},
       {"2024-1-31", "2024-00-10", "2024-01-00", "24-01-31", "2024-01-31T", "2024-02-30", "2023-02-29", "1900-02-29",
        "2100-02-29", "2023-04-31", "2023-06-31", "2023-09-31", "2023-11-31"}},
      {"time", {"12:00:00Z", "23:59:59.5+05:30", "00:00:60-00:00"}, {"12:00:00", "12:00Z", "24:00:00Z", "12:60:00Z"}},
      {"duration",
       {"P1Y", "P1Y2M3DT4H5M6S", "P2W", "PT0S", "P3D", "PT36H", "P1M2D", "PT1H30M", "P0D"},
       {"P", "PT", "P1W2D", "1Y", "P1H", "PT1D", "P1Y2D", "PT1H2S", "P1.5Y"}},
      {"email",
       {"a@b.co", "first.last+tag@mail.example.org", "x_y-z@sub-domain.example.com", "o'neil@ex.io"},
       {"a@b", "@b.co", "a@.co", "a..b@c.co", "a@b.c", "a b@c.co", "a@-b.co", "a@b-.co", ".a@b.co", "a@b.c0"}},
      {"hostname",
       {"localhost", "example.com", "a-b.c-d.e", "xn--bcher-kva.example", std::string(63, 'a')},
       {"-a.com", "a-.com", "a..b", "a.", ".a", "a_b.com", std::string(64, 'a')}},
      {"ipv4",
       {"0.0.0.0", "192.168.1.255", "255.255.255.255"},
       {"256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "1.2.3.-4"}},
      {"ipv6",
       {"::", "::1", "1::", "2001:db8::8a2e:370:7334", "2001:0db8:0000:0000:0000:ff00:0042:8329", "::ffff:192.168.1.1",
        "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "fe80::1:2"},
       {":", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "::ffff:256.1.1.1", "1:2:3:4:5:6:7", "g::1", "fe80::1%eth0"}},
      {"uuid",
       {"123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000",
        "ABCDEF01-2345-6789-ABCD-EF0123456789"},
       {"123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400",
        "123e4567-e89b-12d3-a456-42661417400g"}},
      {"uri",
       {"https://example.com/a?b=c#d", "mailto:someone@example.com", "urn:isbn:0451450523", "http://x/%20y"},
       {"example.com", "://x", "http://a b", "http://x/%2", "1http://x", "http:"}},
  };
  for (const FormatCase& c : cases) {
    SCOPED_TRACE(c.format);
    const std::string_view pattern = format_pattern(c.format);
    ASSERT_FALSE(pattern.empty());
    const RegexDfa dfa = compile_regex(pattern);
    EXPECT_LE(dfa.size(), 2000);
    for (const std::string& text : c.valid) EXPECT_TRUE(accepts(dfa, text)) << text;
    for (const std::string& text : c.invalid) EXPECT_FALSE(accepts(dfa, text)) << text;
  }
  EXPECT_TRUE(format_pattern("color").empty());
}

}  // namespace
}  // namespace turbine
