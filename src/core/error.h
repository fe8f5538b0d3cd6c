// One error type for everything a user can cause (bad files, bad flags, bad input).
// The CLI prints `error: <what()>` and exits non-zero; nothing else catches it silently.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace turbine {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace turbine
