// The engine requests the server has in flight: admission against the queue bound (429 beyond
// it), the running/queued gauges, and the jobs /abort_request and shutdown can cancel by tag.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace turbine::server {

class RequestTracker {
 public:
  // `capacity`: engine requests that may be in flight at once (the batch plus the queue bound).
  explicit RequestTracker(int capacity) : capacity_(capacity) {}

  // Reserves `n` engine requests; false when that would exceed the capacity.
  bool try_admit(int n);
  // An admitted request produced its first output (it counts as running from now on).
  void mark_running();
  // An admitted request ended; `was_running` says whether mark_running was called for it.
  void release(bool was_running);
  int in_flight() const;
  int running() const;

  // Jobs that can be cancelled by /abort_request (by any of their tags) or at shutdown.
  uint64_t add_job(std::vector<std::string> tags, std::function<void()> cancel);
  void remove_job(uint64_t key);
  // Cancels the jobs carrying `tag`; how many there were.
  int cancel_tagged(const std::string& tag);
  void cancel_all();

 private:
  struct Job {
    std::vector<std::string> tags;
    std::function<void()> cancel;
  };
  // Copies of the cancel functions of the chosen jobs (called without the lock held).
  std::vector<std::function<void()>> select(const std::string* tag);

  const int capacity_;
  mutable std::mutex mutex_;
  int in_flight_ = 0;
  int running_ = 0;
  uint64_t next_key_ = 1;
  std::map<uint64_t, Job> jobs_;
};

}  // namespace turbine::server
