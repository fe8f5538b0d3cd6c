// A JSON Schema `pattern` (regex_syntax.h says which ECMA-262 subset) as the automaton of the whole
// strings it matches: Thompson's construction, then the subset construction over code point ranges,
// then RegexDfa's trimming and minimization.
#pragma once
#include <string_view>

#include "guided/regex_dfa.h"

namespace turbine {

// The most states the intermediate nondeterministic automaton may have: counted repetitions copy
// their operand, so `(...){1,1000}` is refused here before it costs much.
constexpr int32_t kMaxNfaStates = 50000;

// Throws RegexError (syntax, an unsupported construct, an automaton past kMaxNfaStates or
// kMaxDfaStates). A pattern that matches nothing gives an empty() automaton.
RegexDfa compile_regex(std::string_view pattern);

}  // namespace turbine
