// Results go to standard output through these functions, which check every write: a full disk
// (/dev/full) or a closed pipe (EPIPE, with SIGPIPE ignored) becomes a turbine::Error
// "cannot write to standard output: <reason>", so the command stops at once and exits non-zero.
#pragma once
#include <fmt/format.h>

#include <string_view>

namespace turbine::cli {

// Writes `text` to stdout and flushes it (a streamed reply shows at once).
void write_stdout(std::string_view text);

// As write_stdout, with fmt's formatting.
template <typename... Args>
void print_stdout(fmt::format_string<Args...> format, Args&&... args) {
  write_stdout(fmt::format(format, std::forward<Args>(args)...));
}

// Flushes stdout and fails when any earlier write to it failed (the stream's error flag is sticky,
// so text printed with printf is checked here too). main() calls it once after every command.
void finish_stdout();

}  // namespace turbine::cli
