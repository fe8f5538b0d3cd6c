// The server's Prometheus metrics: request counts by finish reason, token counters and latency
// histograms, recorded as requests end; the engine's gauges (KV blocks, running and queued
// requests) are read when /metrics is scraped.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace turbine::server {

// Cumulative buckets as Prometheus wants them (le = upper bound in seconds).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double seconds);
  // Lines of `name` in Prometheus text format.
  std::string render(const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// What /metrics shows of the engine at scrape time.
struct EngineGauges {
  int blocks_free = 0, blocks_active = 0, blocks_cached = 0;
  int running = 0, queued = 0;
  uint64_t preemptions = 0, cached_prefix_tokens = 0, steps = 0;
};

class Metrics {
 public:
  Metrics();
  // One engine request ended; reason is stop, length, abort, error or tool_calls; negative times were not measured.
  void record_request(const std::string& reason, int prompt_tokens, int generated_tokens, double ttft_seconds,
                      double e2e_seconds);
  // An HTTP request answered with an error status.
  void record_http_error(int status);
  std::string render(const EngineGauges& gauges) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> requests_by_reason_;
  std::map<int, uint64_t> http_errors_;
  uint64_t prompt_tokens_ = 0, generation_tokens_ = 0;
  Histogram ttft_, e2e_, per_token_;
};

}  // namespace turbine::server
