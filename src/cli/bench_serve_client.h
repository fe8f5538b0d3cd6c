// The HTTP side of `turbine bench serve`: many streamed requests at once from one io_context thread,
// each on a kept-alive Beast connection of its own, timed from the client's side (time to the first
// token, the gaps between tokens, the whole request).
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "cli/http_client.h"

namespace turbine::cli {

// Which API the requests go to; it decides how a streamed event counts its tokens.
enum class BenchApi { Completions, Chat, Generate };

struct BenchServeSetup {
  HttpUrl url;
  std::string path;  // e.g. "/v1/completions" (after url.base_path)
  BenchApi api = BenchApi::Completions;
  HttpHeaders headers;                // sent with every request (Authorization)
  size_t concurrency = 0;             // requests in flight at most; 0 = no limit
  std::chrono::seconds timeout{600};  // the longest wait for anything (connect, send, the next piece)
};

// What the client saw of one request.
struct RequestTiming {
  bool ok = false;
  std::string error;           // why it failed (empty when ok)
  double ttft_ms = -1;         // from sending to the first event that carries tokens
  double e2e_ms = 0;           // from sending to the end of the stream
  std::vector<double> itl_ms;  // per token after the first: the gap of its event / the event's tokens
  int output_tokens = 0;       // the server's usage count where it sends one, else the tokens counted
  int prompt_tokens = -1;      // the server's usage count, -1 when it sends none
};

// Sends `bodies[i]` (JSON, streamed) after a wait of `gaps[i]` seconds from the previous arrival (all at
// once when the gaps are 0), at most `setup.concurrency` at a time. `on_done(n)` is called on the
// client's thread after each request ends. A request that fails is recorded as failed; only an address
// that cannot be resolved is a turbine::Error.
std::vector<RequestTiming> run_bench_requests(const BenchServeSetup& setup, const std::vector<std::string>& bodies,
                                              const std::vector<double>& gaps,
                                              const std::function<void(size_t)>& on_done);

}  // namespace turbine::cli
