// A JSON number inside the JSON matcher, byte by byte: RFC 8259's number grammar (an Integer node
// takes no fraction or exponent) and, for a ranged node (JsonNode::ranged: minimum, maximum,
// multipleOf), only the bytes some number within the bounds can still follow, so the matcher never
// takes a prefix it cannot finish. A ranged number's frame holds the value so far (its layout is in
// json_number_frame.cpp); an unranged one's only its phase.
#pragma once
#include <cstdint>

#include "guided/json_grammar.h"
#include "guided/json_matcher.h"

namespace turbine {

// MatcherFrame::phase of a number frame: a frame begins at kStart, before its first byte.
enum NumberPhase : uint8_t { kMinus, kZero, kIntDigits, kDot, kFracDigits, kExp, kExpSign, kExpDigits, kStart };

// Takes `c` into the number of node `n`; false, with `f` unchanged, when the number cannot take it.
bool number_byte(const JsonNode& n, MatcherFrame& f, uint8_t c);
// The number may end here (for a ranged node: its value lies within the bounds and is a multiple).
bool number_may_end(const JsonNode& n, const MatcherFrame& f);
// Some byte may still grow the number.
bool number_may_grow(const JsonNode& n, const MatcherFrame& f);

}  // namespace turbine
