#include "guided/guided_mask_cache.h"

#include <algorithm>

namespace turbine {

GuidedMaskCache::GuidedMaskCache(std::shared_ptr<const JsonGrammar> grammar,
                                 std::shared_ptr<const TokenTrie> vocabulary)
    : grammar_(std::move(grammar)), matcher_(*grammar_), vocabulary_(std::move(vocabulary)) {
  const size_t mask_bytes = (size_t(vocabulary_->vocab_size()) + 63) / 64 * 8;
  limit_ = std::max<size_t>(16, kMaskCacheBytes / std::max<size_t>(mask_bytes, 1));
}

GuidedMaskCache::Bits GuidedMaskCache::walk(const MatcherState& from) const {
  Bits bits((size_t(vocabulary_->vocab_size()) + 63) / 64, 0);
  // One state per trie depth; a node's parent state is the last one written at depth - 1 (pre-order).
  std::vector<MatcherState> states(vocabulary_->max_depth() + 1);
  states[0] = from;
  const auto nodes = vocabulary_->nodes();
  const auto ids = vocabulary_->ids();
  for (size_t i = 0; i < nodes.size();) {
    const TokenTrie::Node& n = nodes[i];
    if (!matcher_.advance(states[n.depth - 1], n.byte, states[n.depth])) {
      i = n.subtree_end;
      continue;
    }
    for (uint32_t k = n.ids_begin; k < n.ids_end; ++k) bits[size_t(ids[k]) / 64] |= uint64_t(1) << (ids[k] % 64);
    ++i;
  }
  return bits;
}

std::shared_ptr<const GuidedMaskCache::Bits> GuidedMaskCache::allowed(const MatcherState& exact) {
  // Far from its maxLength a string's count does not change the set (JsonMatcher::without_distant_counts):
  // such a state is keyed and walked with the count at 0.
  MatcherState uncounted;
  const MatcherState& state =
      matcher_.without_distant_counts(exact, int64_t(vocabulary_->max_depth()), uncounted) ? uncounted : exact;
  std::string key(state.key());
  std::promise<std::shared_ptr<const Bits>> walked;
  uint64_t walk_index = 0;
  std::function<void()> hook;
  {
    std::unique_lock lock(mutex_);
    if (const auto it = entries_.find(key); it != entries_.end()) {
      ++hits_;
      const auto bits = it->second.bits;
      lock.unlock();
      return bits.get();  // waits while another thread walks it; rethrows that walk's failure
    }
    if (entries_.size() >= limit_) entries_.clear();
    walk_index = ++walks_;
    entries_.emplace(key, Entry{walked.get_future().share(), walk_index});
    hook = walk_hook_;
  }
  try {
    if (hook) hook();
    auto bits = std::make_shared<const Bits>(walk(state));
    walked.set_value(bits);
    return bits;
  } catch (...) {
    walked.set_exception(std::current_exception());
    std::lock_guard lock(mutex_);
    if (const auto it = entries_.find(key); it != entries_.end() && it->second.walk == walk_index) entries_.erase(it);
    throw;
  }
}

GuidedMaskCache::Stats GuidedMaskCache::stats() const {
  std::lock_guard lock(mutex_);
  return {hits_, walks_, entries_.size()};
}

void GuidedMaskCache::set_walk_hook(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  walk_hook_ = std::move(hook);
}

}  // namespace turbine
