#include "engine/request.h"

namespace turbine {

void RequestChannel::deliver(RequestOutput out) {
  {
    std::lock_guard lock(mutex_);
    if (done_) return;
  }
  // The callback runs before the result is marked done, so a caller that prints from the callback
  // and then returns from wait() has seen every piece of text (only the engine thread delivers).
  if (callback_) callback_(out);
  {
    std::lock_guard lock(mutex_);
    if (out.token && out.show_id) result_.ids.push_back(*out.token);
    if (out.logprobs) result_.logprobs.push_back(*out.logprobs);
    result_.text += out.text;
    if (out.finished) {
      result_.reason = out.reason;
      result_.error = out.error;
      done_ = true;
    }
    if (!callback_) events_.push_back(std::move(out));
  }
  cv_.notify_all();
}

std::optional<RequestOutput> RequestChannel::next() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return !events_.empty() || done_; });
  if (events_.empty()) return std::nullopt;
  RequestOutput out = std::move(events_.front());
  events_.pop_front();
  return out;
}

RequestResult RequestChannel::wait() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return done_; });
  return result_;
}

bool RequestChannel::wait_event_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return !events_.empty() || done_; });
}

bool RequestChannel::finished() const {
  std::lock_guard lock(mutex_);
  return done_;
}

void RequestChannel::set_cached_prefix(int tokens) {
  std::lock_guard lock(mutex_);
  result_.cached_prefix_tokens = tokens;
}

void RequestChannel::set_cancelled() {
  std::lock_guard lock(mutex_);
  result_.cancelled = true;
}

}  // namespace turbine
