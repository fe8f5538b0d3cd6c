// LMDeploy's stateful sessions for /generate: per session id, the conversation's ids as the
// engine's session cache holds them (each turn's prompt plus every id generated, the stop id
// included), so the next call appends only its new prompt. One turn at a time per session.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace turbine::server {

class SessionRegistry {
 public:
  enum class Claim { Ok, Busy };
  // Starts a turn of `id` (created empty when new); Busy when a turn of it is running.
  Claim claim(uint64_t id, std::vector<int32_t>& history);
  // The turn is over; the session's ids are now `history`.
  void finish_turn(uint64_t id, std::vector<int32_t> history);
  enum class End { Ended, Unknown, Busy };
  // Forgets an idle session.
  End end(uint64_t id);
  // Forgets the session as soon as its running turn finishes (or now when idle); false when unknown.
  bool end_after_turn(uint64_t id);

 private:
  struct Session {
    std::vector<int32_t> history;
    bool busy = false;
    bool end_after_turn = false;
  };
  std::mutex mutex_;
  std::map<uint64_t, Session> sessions_;
};

}  // namespace turbine::server
