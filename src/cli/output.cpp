#include "cli/output.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace turbine::cli {

namespace {

[[noreturn]] void write_failed(int err) {
  // The stream stays in error; clear it so the final check in main() does not report it twice.
  std::clearerr(stdout);
  fail("cannot write to standard output: {}", std::strerror(err != 0 ? err : EIO));
}

}  // namespace

void write_stdout(std::string_view text) {
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) write_failed(errno);
}

void finish_stdout() {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) write_failed(errno);
}

}  // namespace turbine::cli
