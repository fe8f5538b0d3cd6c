// Which GuidedMaskCache a new guided sequence uses: one per distinct grammar over one vocabulary.
// Equal grammars share a cache, whichever object holds them: a request's n choices share one object,
// and every json_object request, or every request with the same schema, compiles an equal one.
//
// Ownership: the decoders own their cache (shared_ptr); this table only finds the live ones (weak
// references) and keeps the few most recently asked for alive a while longer, so that requests of
// one schema arriving one after another reuse its masks too. Memory is bounded by the caches' own
// bound times the grammars in use plus kKeptRecent.
#pragma once
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "guided/guided_mask_cache.h"
#include "guided/json_grammar.h"
#include "guided/token_trie.h"

namespace turbine {

class GuidedMaskCaches {
 public:
  static constexpr size_t kKeptRecent = 4;

  explicit GuidedMaskCaches(std::shared_ptr<const TokenTrie> vocabulary) : vocabulary_(std::move(vocabulary)) {}

  // The cache of grammars equal to `grammar`: a live one, or a new one. Thread-safe.
  std::shared_ptr<GuidedMaskCache> get(const std::shared_ptr<const JsonGrammar>& grammar);
  // Caches alive now (held by decoders or kept as recent).
  size_t live();

 private:
  std::shared_ptr<const TokenTrie> vocabulary_;
  std::mutex mutex_;
  std::vector<std::weak_ptr<GuidedMaskCache>> caches_;
  std::deque<std::shared_ptr<GuidedMaskCache>> recent_;  // the last kKeptRecent asked for, newest last
};

}  // namespace turbine
