// Sizes written by people: "4GiB", "512MiB", "2GB", "1048576".
#pragma once
#include <cstddef>
#include <string>

namespace turbine {

// Bytes in `text`; throws Error naming `what` (a flag or field; left out when empty) when it is not
// a positive size that a size_t holds.
size_t parse_byte_size(const std::string& text, const std::string& what);
// A size for people: "812 B", "3.2 MiB", "1.5 GiB", "100 TiB".
std::string format_byte_size(size_t bytes);
// Bytes of physical memory on this machine (0 when unknown).
size_t physical_memory_bytes();

}  // namespace turbine
