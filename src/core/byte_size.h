// Sizes written by people: "4GiB", "512MiB", "2GB", "1048576".
#pragma once
#include <cstddef>
#include <string>

namespace turbine {

// Bytes in `text`; throws Error naming `what` (a flag or field; left out when empty) when it is not
// a positive size that a size_t holds.
size_t parse_byte_size(const std::string& text, const std::string& what);

}  // namespace turbine
