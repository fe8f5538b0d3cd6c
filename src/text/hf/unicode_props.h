// Unicode character classes the HF pipeline relies on (Rust's char::is_whitespace etc.).
#pragma once

namespace turbine::hf {

// Unicode White_Space (what Rust's char::is_whitespace and Python's str.isspace-ish checks use).
bool is_unicode_whitespace(char32_t cp);
// General category M* (combining marks), removed by StripAccents.
bool is_combining_mark(char32_t cp);

}  // namespace turbine::hf
