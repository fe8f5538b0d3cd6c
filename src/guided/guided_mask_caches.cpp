#include "guided/guided_mask_caches.h"

#include <algorithm>

namespace turbine {

std::shared_ptr<GuidedMaskCache> GuidedMaskCaches::get(const std::shared_ptr<const JsonGrammar>& grammar) {
  std::lock_guard lock(mutex_);
  std::erase_if(caches_, [](const std::weak_ptr<GuidedMaskCache>& c) { return c.expired(); });
  std::shared_ptr<GuidedMaskCache> found;
  // A linear scan: the grammars in use at once are few, and unequal ones differ early.
  for (const auto& weak : caches_) {
    auto cache = weak.lock();
    if (cache && (cache->grammar() == grammar || *cache->grammar() == *grammar)) {
      found = std::move(cache);
      break;
    }
  }
  if (!found) {
    found = std::make_shared<GuidedMaskCache>(grammar, vocabulary_);
    caches_.push_back(found);
  }
  std::erase(recent_, found);
  recent_.push_back(found);
  if (recent_.size() > kKeptRecent) recent_.pop_front();
  return found;
}

size_t GuidedMaskCaches::live() {
  std::lock_guard lock(mutex_);
  return size_t(std::count_if(caches_.begin(), caches_.end(),
                              [](const std::weak_ptr<GuidedMaskCache>& c) { return !c.expired(); }));
}

}  // namespace turbine
