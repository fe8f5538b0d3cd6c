// Lines from a file descriptor, read with read(2) so that Ctrl-C at a prompt (EINTR, see
// interrupt.h) is told apart from the end of input; std::getline cannot tell the two apart.
#pragma once
#include <string>

#include "cli/interrupt.h"

namespace turbine::cli {

class LineReader {
 public:
  enum class Status { Line, End, Interrupted };

  explicit LineReader(int fd) : fd_(fd) {}
  // The next line without its "\n" (and "\r"). Interrupted when `interrupt` is pending, before or
  // during the wait for input; the last line may lack its "\n".
  Status next(std::string& line, const Interrupt* interrupt);

 private:
  int fd_;
  std::string buffer_;
  bool end_ = false;
};

}  // namespace turbine::cli
