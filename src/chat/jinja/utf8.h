// UTF-8 <-> code points: Python strings index, slice and measure by code point.
#pragma once
#include <string>

#include "core/utf8.h"  // append_utf8

namespace turbine::jinja {

// Invalid bytes decode as themselves (U+0080..U+00FF) so nothing is lost or thrown.
std::u32string utf8_decode(const std::string& s);
std::string utf8_encode(const std::u32string& s);

// Python's str.isspace / isprintable / upper / lower for one code point.
bool is_python_space(char32_t c);
bool is_python_printable(char32_t c);
char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);
bool is_alpha(char32_t c);
// Python's str.upper()/lower(), including the full mappings that change length (ß -> SS).
std::string upper_string(const std::string& s);
std::string lower_string(const std::string& s);
bool is_cased_upper(char32_t c);
bool is_cased_lower(char32_t c);
bool is_digit(char32_t c);

}  // namespace turbine::jinja
