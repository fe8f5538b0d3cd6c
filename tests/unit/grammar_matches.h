// Whether a grammar takes a whole text, by the JSON matcher: the check the grammar-building tests
// (schemas, embedded grammars, tool calls) make of what they built.
#pragma once
#include <string_view>

#include "guided/json_grammar.h"
#include "guided/json_matcher.h"

namespace turbine::test {

inline bool grammar_matches(const JsonGrammar& g, std::string_view text) {
  const JsonMatcher m(g);
  MatcherState s = m.start();
  return m.advance(s, text) && m.can_end(s);
}

}  // namespace turbine::test
