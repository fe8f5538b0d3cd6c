// Unicode character classes and case mapping (from utf8proc's tables): Rust's char predicates
// for the HF tokenizer pipeline, Python's str predicates and case mapping for the chat templates.
#pragma once
#include <string>

namespace turbine {

// Unicode White_Space (Rust's char::is_whitespace).
bool is_unicode_whitespace(char32_t cp);
// General category M* (combining marks), removed by StripAccents.
bool is_combining_mark(char32_t cp);

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

}  // namespace turbine
