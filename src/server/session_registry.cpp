#include "server/session_registry.h"

namespace turbine::server {

SessionRegistry::Claim SessionRegistry::claim(uint64_t id, std::vector<int32_t>& history) {
  std::lock_guard lock(mutex_);
  Session& s = sessions_[id];
  if (s.busy) return Claim::Busy;
  s.busy = true;
  history = s.history;
  return Claim::Ok;
}

void SessionRegistry::finish_turn(uint64_t id, std::vector<int32_t> history) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  if (it->second.end_after_turn) {
    sessions_.erase(it);
    return;
  }
  it->second.history = std::move(history);
  it->second.busy = false;
}

SessionRegistry::End SessionRegistry::end(uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return End::Unknown;
  if (it->second.busy) return End::Busy;
  sessions_.erase(it);
  return End::Ended;
}

bool SessionRegistry::end_after_turn(uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  if (it->second.busy)
    it->second.end_after_turn = true;
  else
    sessions_.erase(it);
  return true;
}

}  // namespace turbine::server
