// What a caller submits to the engine and how results come back. A RequestHandle can be used from
// any thread: stream events with next() (or get them through Request::on_output), wait() for
// the whole result, cancel() at any time.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/sampling_params.h"
#include "engine/text_stream.h"
#include "engine/token_logprobs.h"

namespace turbine {

struct RequestOutput {
  std::optional<int32_t> token;  // the id generated this step (absent on an end-only event)
  bool show_id = true;           // false for a stop id that ended generation (not printed with --ids)
  // With params.logprobs: the token's log-probability and top alternatives (absent for a hidden stop id).
  std::optional<TokenLogprobs> logprobs;
  std::string text;  // text that became safe to show
  bool finished = false;
  FinishReason reason = FinishReason::None;  // None when cancelled or failed
  std::string error;                         // non-empty: the request failed (finished is set)
};

struct Request {
  std::vector<int32_t> ids;  // the whole prompt (for a session: the whole conversation)
  SamplingParams params;
  std::optional<uint64_t> session_id;
  // Called on the engine thread for every event instead of queueing it for next(); keep it short.
  std::function<void(const RequestOutput&)> on_output;
};

struct RequestResult {
  std::vector<int32_t> ids;             // generated ids shown (a stop id that ended generation is left out)
  std::vector<TokenLogprobs> logprobs;  // with params.logprobs: one per id of `ids`
  std::string text;
  FinishReason reason = FinishReason::None;
  bool cancelled = false;
  std::string error;
  int cached_prefix_tokens = 0;  // prompt tokens reused from the cache at the (last) admission
};

// Shared between the engine thread (producer) and the handle (consumer).
class RequestChannel {
 public:
  explicit RequestChannel(std::function<void(const RequestOutput&)> callback) : callback_(std::move(callback)) {}
  void deliver(RequestOutput out);      // engine side
  std::optional<RequestOutput> next();  // caller side: blocks; nullopt after the final event
  RequestResult wait();
  // Waits at most `timeout` for an event or the end; true when next() would not block.
  bool wait_event_for(std::chrono::milliseconds timeout);
  bool finished() const;
  void set_cached_prefix(int tokens);
  void set_cancelled();

  std::atomic<bool> cancel_requested{false};

 private:
  std::function<void(const RequestOutput&)> callback_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<RequestOutput> events_;
  RequestResult result_;
  bool done_ = false;
};

class RequestHandle {
 public:
  RequestHandle() = default;
  RequestHandle(uint64_t id, std::shared_ptr<RequestChannel> channel) : id_(id), channel_(std::move(channel)) {}
  uint64_t id() const { return id_; }
  // The next event (blocks); nullopt once the final event was returned. Empty with on_output.
  std::optional<RequestOutput> next() { return channel_->next(); }
  // Blocks until the request ends; the accumulated ids and text.
  RequestResult wait() { return channel_->wait(); }
  // Waits at most `timeout` for an event or the end (so that a caller can stay interruptible);
  // true when next() would not block.
  bool wait_event_for(std::chrono::milliseconds timeout) { return !channel_ || channel_->wait_event_for(timeout); }
  bool finished() const { return !channel_ || channel_->finished(); }
  // Ends the request at the next step; what was generated so far stays in the result. A default
  // handle (no request) counts as finished and ignores cancel().
  void cancel() {
    if (channel_) channel_->cancel_requested = true;
  }

 private:
  uint64_t id_ = 0;
  std::shared_ptr<RequestChannel> channel_;
};

}  // namespace turbine
