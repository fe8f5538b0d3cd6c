// One sequence's guided decoding: where its output stands in the grammar, and which tokens may
// come next. The allowed set of a state comes from a GuidedMaskCache shared by every decoder of the
// grammar (inside a long string the state repeats, and so does the set; a request's choices meet
// the same states).
//
// Stop ids: disallowed while the value is incomplete, the only ids allowed once it is complete and
// cannot grow (where it is complete but could still grow, a number at the top, both are allowed).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "guided/guided_mask_cache.h"
#include "guided/json_grammar.h"
#include "guided/json_matcher.h"
#include "guided/token_trie.h"

namespace turbine {

class GuidedDecoder {
 public:
  // masks: the cache of the grammar to follow over the tokenizer's vocabulary. stop_ids: the ids
  // that end the request (empty when none do, e.g. with ignore_eos).
  GuidedDecoder(std::shared_ptr<GuidedMaskCache> masks, std::vector<int32_t> stop_ids);
  // With a cache of its own.
  GuidedDecoder(std::shared_ptr<const JsonGrammar> grammar, std::shared_ptr<const TokenTrie> vocabulary,
                std::vector<int32_t> stop_ids);

  // Finds the current state's allowed set ahead of mask(), which then only applies it. It depends on
  // nothing but the state, so it may run on another thread while the logits are being computed, as
  // long as nothing else uses this decoder meanwhile.
  void prepare();
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
  size_t cached_masks() const { return masks_->stats().entries; }
  const GuidedMaskCache& masks() const { return *masks_; }

 private:
  const GuidedMaskCache::Bits& allowed_bits();

  std::shared_ptr<GuidedMaskCache> masks_;
  JsonMatcher matcher_;
  std::shared_ptr<const TokenTrie> vocabulary_;
  std::vector<int32_t> stop_ids_;
  MatcherState state_;
  bool off_ = false;  // guidance gave up (see mask)
  std::shared_ptr<const GuidedMaskCache::Bits> allowed_;  // state_'s set, once looked up
};

}  // namespace turbine
