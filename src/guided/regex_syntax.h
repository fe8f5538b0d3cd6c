// The ECMA-262 regular expression subset a JSON Schema `pattern` may use, parsed into a tree over
// code points (regex_compile.h turns it into an automaton). Supported: literals (UTF-8 in the pattern
// text), `.` (anything but a line terminator), classes `[a-z0-9_]`, negated `[^...]` (and ECMA's `[]`
// matches nothing, `[^]` anything), escapes `\d \w \s \D \W \S` (ASCII digits and word characters,
// ECMA's white space), `\t \n \r \f \v \0 \cX \xHH \uXXXX \u{X...}` (a `\uXXXX` surrogate pair is one
// code point), escaped punctuation (`\. \- \\ \/` ...; `\b` is a backspace inside a class), groups
// `(...)`, `(?:...)` and `(?<name>...)`, alternation `|`, quantifiers `* + ? {n} {n,} {n,m}` (a lazy
// `?` after them is accepted: for matching it makes no difference; counts up to kMaxRepeat), and the
// anchors `^` at the start and `$` at the end of the pattern or of one of its top-level alternatives.
// A `{` or `}` that is no quantifier and a lone `]` are literals (as Python and ECMA's Annex B have
// them).
//
// JSON Schema patterns are not anchored: an alternative without `^` may begin anywhere in the string
// and one without `$` may end anywhere, so the tree wraps such an alternative in "any text" on that
// side, and the automaton then matches whole strings.
//
// Anything else (backreferences, lookaround, word boundaries, anchors elsewhere, Unicode property
// escapes, flags) is a RegexError naming the construct.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "guided/code_point_set.h"

namespace turbine {

constexpr int32_t kMaxRepeat = 1000;
constexpr int32_t kUnboundedRepeat = -1;

class RegexError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RegexTree {
  enum class Kind : uint8_t {
    Set,       // one code point of `set`
    Sequence,  // `children` one after the other (none: the empty string)
    Either,    // one of `children`
    Repeat,    // children[0], min..max times (max kUnboundedRepeat: no upper bound)
  };
  struct Node {
    Kind kind = Kind::Sequence;
    CodePointSet set;
    std::vector<int32_t> children;
    int32_t min = 0, max = 0;
  };
  std::vector<Node> nodes;
  int32_t root = -1;
};

// Throws RegexError.
RegexTree parse_regex(std::string_view pattern);

}  // namespace turbine
