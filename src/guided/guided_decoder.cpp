#include "guided/guided_decoder.h"

#include <algorithm>
#include <bit>
#include <limits>

#include "core/error.h"

namespace turbine {
namespace {

constexpr size_t kMaskCacheBytes = size_t(4) << 20;  // per sequence

bool test_bit(const std::vector<uint64_t>& bits, size_t i) { return (bits[i / 64] >> (i % 64)) & 1; }

}  // namespace

GuidedDecoder::GuidedDecoder(std::shared_ptr<const JsonGrammar> grammar, std::shared_ptr<const TokenTrie> vocabulary,
                             std::vector<int32_t> stop_ids)
    : grammar_(std::move(grammar)),
      matcher_(*grammar_),
      vocabulary_(std::move(vocabulary)),
      stop_ids_(std::move(stop_ids)),
      state_(matcher_.start()) {
  const size_t mask_bytes = (size_t(vocabulary_->vocab_size()) + 63) / 64 * 8;
  cache_limit_ = std::max<size_t>(16, kMaskCacheBytes / std::max<size_t>(mask_bytes, 1));
}

std::vector<uint64_t> GuidedDecoder::walk_trie(const MatcherState& from) {
  std::vector<uint64_t> bits((size_t(vocabulary_->vocab_size()) + 63) / 64, 0);
  walk_states_.resize(vocabulary_->max_depth() + 1);
  walk_states_[0] = from;
  const auto nodes = vocabulary_->nodes();
  const auto ids = vocabulary_->ids();
  for (size_t i = 0; i < nodes.size();) {
    const TokenTrie::Node& n = nodes[i];
    // The parent's state is the last one written at depth - 1 (pre-order).
    if (!matcher_.advance(walk_states_[n.depth - 1], n.byte, walk_states_[n.depth])) {
      i = n.subtree_end;
      continue;
    }
    for (uint32_t k = n.ids_begin; k < n.ids_end; ++k) bits[size_t(ids[k]) / 64] |= uint64_t(1) << (ids[k] % 64);
    ++i;
  }
  return bits;
}

const std::vector<uint64_t>& GuidedDecoder::allowed_bits() {
  const std::string key(state_.key());
  if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
  if (cache_.size() >= cache_limit_) cache_.clear();
  return cache_.emplace(key, walk_trie(state_)).first->second;
}

std::vector<bool> GuidedDecoder::allowed_ids() {
  const std::vector<uint64_t>& bits = allowed_bits();
  std::vector<bool> out(size_t(vocabulary_->vocab_size()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = test_bit(bits, i);
  return out;
}

void GuidedDecoder::mask(std::span<float> logits) {
  if (off_) return;
  const bool may_end = matcher_.can_end(state_);
  static const std::vector<uint64_t> kNone;
  const std::vector<uint64_t>& bits = matcher_.can_continue(state_) ? allowed_bits() : kNone;
  const size_t vocab = std::min(logits.size(), size_t(vocabulary_->vocab_size()));
  bool any_token = false;
  for (size_t w = 0; w < bits.size() && !any_token; ++w) any_token = bits[w] != 0;
  bool any_stop = false;
  for (int32_t id : stop_ids_) any_stop = any_stop || (id >= 0 && size_t(id) < logits.size());
  bool allow_stops = may_end;
  if (!any_token && !may_end) {
    if (!any_stop) {
      off_ = true;  // nothing can continue and nothing can end it: leave the model free
      return;
    }
    allow_stops = true;
  }
  std::vector<std::pair<int32_t, float>> stops;
  for (int32_t id : stop_ids_)
    if (id >= 0 && size_t(id) < logits.size()) stops.emplace_back(id, logits[size_t(id)]);
  constexpr float kNever = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < logits.size(); ++i)
    if (i >= vocab || bits.empty() || !test_bit(bits, i)) logits[i] = kNever;
  for (const auto& [id, value] : stops) logits[size_t(id)] = allow_stops ? value : kNever;
}

void GuidedDecoder::accept(int32_t id) {
  if (off_ || std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end()) return;
  if (id < 0 || id >= vocabulary_->vocab_size() || !matcher_.advance(state_, vocabulary_->bytes(id))) off_ = true;
}

bool GuidedDecoder::complete() const { return !off_ && matcher_.can_end(state_) && !matcher_.can_continue(state_); }

}  // namespace turbine
