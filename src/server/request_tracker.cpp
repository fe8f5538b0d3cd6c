#include "server/request_tracker.h"

#include <algorithm>

namespace turbine::server {

bool RequestTracker::try_admit(int n) {
  std::lock_guard lock(mutex_);
  if (in_flight_ + n > capacity_) return false;
  in_flight_ += n;
  return true;
}

void RequestTracker::mark_running() {
  std::lock_guard lock(mutex_);
  ++running_;
}

void RequestTracker::release(bool was_running) {
  std::lock_guard lock(mutex_);
  --in_flight_;
  if (was_running) --running_;
}

int RequestTracker::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

int RequestTracker::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

uint64_t RequestTracker::add_job(std::vector<std::string> tags, std::function<void()> cancel) {
  std::lock_guard lock(mutex_);
  const uint64_t key = next_key_++;
  jobs_.emplace(key, Job{std::move(tags), std::move(cancel)});
  return key;
}

void RequestTracker::remove_job(uint64_t key) {
  std::lock_guard lock(mutex_);
  jobs_.erase(key);
}

std::vector<std::function<void()>> RequestTracker::select(const std::string* tag) {
  std::lock_guard lock(mutex_);
  std::vector<std::function<void()>> chosen;
  for (const auto& [key, job] : jobs_)
    if (!tag || std::find(job.tags.begin(), job.tags.end(), *tag) != job.tags.end()) chosen.push_back(job.cancel);
  return chosen;
}

int RequestTracker::cancel_tagged(const std::string& tag) {
  const auto chosen = select(&tag);
  for (const auto& cancel : chosen) cancel();
  return int(chosen.size());
}

void RequestTracker::cancel_all() {
  for (const auto& cancel : select(nullptr)) cancel();
}

}  // namespace turbine::server
