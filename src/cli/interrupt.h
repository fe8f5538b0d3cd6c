// Ctrl-C as a request instead of a kill, for interactive commands (chat): while an Interrupt is
// alive, SIGINT only sets a flag that the command polls, so it can stop a reply and carry on.
#pragma once
#include <signal.h>

namespace turbine::cli {

class Interrupt {
 public:
  // Installs the SIGINT handler without SA_RESTART, so a read() blocked on the terminal returns
  // EINTR and the reader sees the flag. One Interrupt at a time.
  Interrupt();
  // Restores the handler that was there before.
  ~Interrupt();
  Interrupt(const Interrupt&) = delete;
  Interrupt& operator=(const Interrupt&) = delete;

  // Whether Ctrl-C was pressed since the last take().
  bool pending() const;
  // Returns pending() and clears it.
  bool take();

 private:
  struct sigaction previous_ {};
};

}  // namespace turbine::cli
