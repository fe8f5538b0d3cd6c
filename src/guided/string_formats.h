// The `format`s a guided string can be held to, each as a built-in pattern (regex_syntax.h) that the
// same automata enforce: the formats OpenAI's structured outputs support, plus `uri` (Pydantic writes
// it for every URL field).
//
// What each one takes (its pattern in string_formats.cpp):
// - date-time: RFC 3339 `date "T" time` ("t" too), seconds required, any fractional digits, "Z"/"z"
//   or a numeric offset; a day its month has (February 29 in the Gregorian leap years only: the
//   automaton tells them by the year's last two digits, and the centuries by the first two), leap
//   second 60 allowed as RFC 3339 allows it;
// - date: RFC 3339 full-date, 0000-12-31 style with the same days; time: RFC 3339 full-time,
//   offset required (as JSON Schema defines it);
// - duration: ISO 8601 as RFC 3339 Appendix A writes it (P1Y2M3DT4H5M6S, P2W, PT0S ...);
// - email: a practical pattern, local@domain.tld: a dot-atom local part, labels of letters, digits and
//   inner hyphens, a top-level label of two or more letters (no quoted local parts or IP literals);
// - hostname: RFC 1123 labels of 1 to 63 letters, digits and inner hyphens, joined by dots (the
//   253-byte limit on the whole name is not checked);
// - ipv4: four decimal bytes 0-255 without leading zeros; ipv6: RFC 4291's text forms (:: compression,
//   an IPv4 tail), no zone id;
// - uuid: RFC 4122's 8-4-4-4-12 hex digits, either case;
// - uri: a scheme, ':', then one or more URI characters (RFC 3986's unreserved and reserved ones,
//   %HH escapes); not checked against RFC 3986's full grammar.
#pragma once
#include <string_view>

namespace turbine {

// The pattern of `format`, or an empty view when it is not one of the above.
std::string_view format_pattern(std::string_view format);
// The names above, for an error message: "date-time, date, ...".
std::string_view supported_formats();

}  // namespace turbine
