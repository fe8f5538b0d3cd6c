#include "cli/interrupt.h"

#include <atomic>
#include <cstring>

namespace turbine::cli {

namespace {

// The one piece of global mutable state in the CLI, and it has to be global: a signal handler
// receives no argument to reach an object through, and it may only touch lock-free atomics.
std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_sigint(int) { interrupted.store(true); }

}  // namespace

Interrupt::Interrupt() {
  interrupted.store(false);
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocked read() returns EINTR
  sigaction(SIGINT, &action, &previous_);
}

Interrupt::~Interrupt() { sigaction(SIGINT, &previous_, nullptr); }

bool Interrupt::pending() const { return interrupted.load(); }

bool Interrupt::take() { return interrupted.exchange(false); }

}  // namespace turbine::cli
