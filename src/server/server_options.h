// What `turbine serve` is told on its command line about the HTTP side (the engine and sampling
// flags are the CLI's shared ones).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "server/reasoning_parser.h"
#include "server/tool_call_parser.h"

namespace turbine::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 23333;
  std::vector<std::string> api_keys;       // empty: no authentication
  std::string served_model_name;           // the id clients name in "model"
  int max_queue = 1000;                    // engine requests waiting beyond the running batch; more -> 429
  int max_batch_size = 128;                // the engine's batch (requests beyond it count as queued)
  double drain_timeout_seconds = 30;       // SIGTERM: how long in-flight requests may still run
  std::vector<std::string> allow_origins;  // CORS: origins answered with Access-Control-Allow-Origin ("*" = any)
  size_t max_body_bytes = 10 << 20;        // larger request bodies -> 413
  int io_threads = 2;                      // threads running the HTTP side
  double idle_timeout_seconds = 60;        // a connection quiet this long between requests is closed
  std::optional<ToolCallFormat> tool_call_parser;   // chat replies to requests with tools -> tool_calls
  std::optional<ReasoningFormat> reasoning_parser;  // chat replies' <think> text -> reasoning_content
};

}  // namespace turbine::server
