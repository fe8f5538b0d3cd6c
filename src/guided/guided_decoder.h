// One sequence's guided decoding: where its output stands in the grammar, and which tokens may
// come next. The allowed set of a state comes from walking the vocabulary's byte trie with the
// matcher, skipping every subtree whose prefix the matcher rejects; it is cached by the state's
// exact key (inside a long string the state repeats, and so does the set).
//
// Stop ids: disallowed while the value is incomplete, the only ids allowed once it is complete and
// cannot grow (where it is complete but could still grow, a number at the top, both are allowed).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "guided/json_grammar.h"
#include "guided/json_matcher.h"
#include "guided/token_trie.h"

namespace turbine {

class GuidedDecoder {
 public:
  // stop_ids: the ids that end the request (empty when none do, e.g. with ignore_eos).
  GuidedDecoder(std::shared_ptr<const JsonGrammar> grammar, std::shared_ptr<const TokenTrie> vocabulary,
                std::vector<int32_t> stop_ids);

  // Sets the logit of every id that may not come next to -inf. When no id at all may (a vocabulary
  // that lacks a byte the JSON needs), the stop ids are allowed, or with none, the row is left as
  // it is and guidance ends.
  void mask(std::span<float> logits);
  // The id chosen: the state advances by its bytes.
  void accept(int32_t id);
  // The value is complete and nothing may follow it.
  bool complete() const;

  // Exposed for tests and measurements: whether each vocabulary id (stop ids aside) may come next.
  std::vector<bool> allowed_ids();
  const MatcherState& state() const { return state_; }
  size_t cached_masks() const { return cache_.size(); }

 private:
  // Bit i of the result: id i may come next (stop ids not counted).
  const std::vector<uint64_t>& allowed_bits();
  std::vector<uint64_t> walk_trie(const MatcherState& from);

  std::shared_ptr<const JsonGrammar> grammar_;
  JsonMatcher matcher_;
  std::shared_ptr<const TokenTrie> vocabulary_;
  std::vector<int32_t> stop_ids_;
  MatcherState state_;
  bool off_ = false;  // guidance gave up (see mask)
  std::unordered_map<std::string, std::vector<uint64_t>> cache_;
  size_t cache_limit_ = 0;
  std::vector<MatcherState> walk_states_;  // one per trie depth, reused between walks
};

}  // namespace turbine
