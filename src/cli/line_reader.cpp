#include "cli/line_reader.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace turbine::cli {

LineReader::Status LineReader::next(std::string& line, const Interrupt* interrupt) {
  for (;;) {
    if (const size_t eol = buffer_.find('\n'); eol != std::string::npos) {
      line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return Status::Line;
    }
    if (end_) {
      if (buffer_.empty()) return Status::End;
      line.swap(buffer_);
      buffer_.clear();
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return Status::Line;
    }
    if (interrupt && interrupt->pending()) return Status::Interrupted;
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, size_t(n));
    } else if (n == 0) {
      end_ = true;
    } else if (errno != EINTR) {
      fail("cannot read standard input: {}", std::strerror(errno));
    }
  }
}

}  // namespace turbine::cli
