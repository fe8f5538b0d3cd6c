// The bytes of a JSON string whose decoded text is held to an automaton and a length bound
// (JsonNodeKind::ConstrainedString), for the JSON matcher. Escapes are decoded (`\n`, `\u00e9` and a
// surrogate pair `\ud83d\ude00` are one code point each, as are raw UTF-8 sequences) and the
// automaton reads code points. A byte is taken only when the text can still be completed: the code
// points it may begin (a UTF-8 lead byte, the first hex digits of `\u`) must include one whose edge
// leads to a state from which acceptance is reachable within max_length; the closing quote only in an
// accepting state. So the matcher never takes a prefix it cannot finish.
//
// Unlike a plain string, a constrained one takes a `\uD800`-`\uDBFF` escape only when a `\uDC00`-
// `\uDFFF` escape follows it (a lone surrogate is no code point a pattern could match or count).
#pragma once
#include <cstdint>

#include "guided/json_grammar.h"
#include "guided/json_matcher.h"

namespace turbine {

enum class StringStep { Reject, Take, Close };

// Fills the phase, spare, a and b of `frame` (whose node is the ConstrainedString's) for the bytes
// after the opening quote; false when no string of the node can be written.
bool open_constrained_string(const JsonGrammar& grammar, MatcherFrame& frame);
// Takes `byte` into the string of `frame`.
StringStep constrained_string_byte(const JsonGrammar& grammar, MatcherFrame& frame, uint8_t byte);

}  // namespace turbine
