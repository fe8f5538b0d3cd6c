// The life of `turbine serve` once its options are resolved: listen (/health answers 503 while the
// model loads), serve once the model is set, and on SIGTERM/SIGINT stop accepting, let in-flight
// requests finish within the drain timeout, cancel what is left and return.
#pragma once
#include <functional>

#include "server/serving_context.h"

namespace turbine::server {

// Raises the soft limit on open files to the hard limit (each connection is one descriptor).
void raise_open_file_limit();

// Runs the server. `load` runs after the socket listens and returns the served model (it must stay
// valid until serve returns). Returns after a signal-triggered drain; throws Error when it cannot
// listen or `load` fails.
void serve(const ServerOptions& options, const std::function<const ServedModel*()>& load);

}  // namespace turbine::server
