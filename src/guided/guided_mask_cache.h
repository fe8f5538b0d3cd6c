// The allowed tokens of the matcher states of one grammar over one vocabulary, found by walking the
// vocabulary's byte trie with the matcher (skipping every subtree whose prefix it rejects) and kept
// by the state's exact key, except that a string's count of code points under a maxLength is keyed
// (and walked) as 0 where the longest token cannot bring it near the bound, which leaves the set as
// it is (JsonMatcher::without_distant_counts). The set is a function of the state alone, so one
// cache serves every GuidedDecoder of the grammar: a request's n choices, and requests whose grammars
// are equal (GuidedMaskCaches hands them the same cache), walk a state once between them.
//
// Thread-safe: decoders on several threads (the engine prepares masks on worker threads) may ask at
// once. A state that one thread is walking is waited for by the others, not walked again. A walk that
// throws fails every caller waiting on it, and the state is walked afresh when next asked for.
// Bounded: past kMaskCacheBytes of sets the cache starts over (sets already handed out stay valid).
#pragma once
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "guided/json_grammar.h"
#include "guided/json_matcher.h"
#include "guided/token_trie.h"

namespace turbine {

class GuidedMaskCache {
 public:
  // Bit i: id i may come next (stop ids not counted: GuidedDecoder handles them).
  using Bits = std::vector<uint64_t>;
  static constexpr size_t kMaskCacheBytes = size_t(4) << 20;

  GuidedMaskCache(std::shared_ptr<const JsonGrammar> grammar, std::shared_ptr<const TokenTrie> vocabulary);

  const std::shared_ptr<const JsonGrammar>& grammar() const { return grammar_; }
  const std::shared_ptr<const TokenTrie>& vocabulary() const { return vocabulary_; }

  // The allowed set of `state`: cached, or waited for while another thread walks it, or walked here.
  std::shared_ptr<const Bits> allowed(const MatcherState& state);

  struct Stats {
    uint64_t hits = 0;   // allowed() calls answered without a walk of their own
    uint64_t walks = 0;  // trie walks begun
    size_t entries = 0;  // states held now
  };
  Stats stats() const;

  // For tests: runs on the walking thread before every walk; what it throws is that walk's failure.
  void set_walk_hook(std::function<void()> hook);

 private:
  struct Entry {
    std::shared_future<std::shared_ptr<const Bits>> bits;
    uint64_t walk = 0;  // which walk made it (a failed walk removes only its own entry)
  };
  Bits walk(const MatcherState& from) const;

  std::shared_ptr<const JsonGrammar> grammar_;
  JsonMatcher matcher_;
  std::shared_ptr<const TokenTrie> vocabulary_;
  size_t limit_ = 0;  // entries held before starting over

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  uint64_t hits_ = 0, walks_ = 0;
  std::function<void()> walk_hook_;
};

}  // namespace turbine
