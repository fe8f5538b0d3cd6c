// Bounded, thread-safe cache of word -> ids for the BPE model. Words repeat a lot in real text,
// so most encodes skip the merge loop. When full it stops admitting new words (HF does the same),
// which bounds memory without eviction bookkeeping.
#pragma once
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "text/hf/string_map.h"

namespace turbine::hf {

class BpeWordCache {
 public:
  static constexpr size_t kMaxWords = 1 << 16;
  static constexpr size_t kMaxWordBytes = 256;  // long words are rare and would bloat the cache

  // Appends the cached ids of `word` to `out`; false when the word is not cached.
  bool lookup(std::string_view word, std::vector<int32_t>& out) const {
    std::lock_guard lock(mutex_);
    auto it = words_.find(word);
    if (it == words_.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }

  void insert(std::string_view word, const int32_t* ids, size_t count) {
    if (word.size() >= kMaxWordBytes) return;
    std::lock_guard lock(mutex_);
    if (words_.size() >= kMaxWords) return;
    words_.try_emplace(std::string(word), ids, ids + count);
  }

 private:
  mutable std::mutex mutex_;
  StringMap<std::vector<int32_t>> words_;
};

}  // namespace turbine::hf
