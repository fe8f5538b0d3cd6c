#include "guided/guided_decoder.h"

#include <algorithm>
#include <bit>
#include <limits>

namespace turbine {
namespace {

bool test_bit(const std::vector<uint64_t>& bits, size_t i) { return (bits[i / 64] >> (i % 64)) & 1; }

}  // namespace

GuidedDecoder::GuidedDecoder(std::shared_ptr<GuidedMaskCache> masks, std::vector<int32_t> stop_ids)
    : masks_(std::move(masks)),
      matcher_(*masks_->grammar()),
      vocabulary_(masks_->vocabulary()),
      stop_ids_(std::move(stop_ids)),
      state_(matcher_.start()) {}

GuidedDecoder::GuidedDecoder(std::shared_ptr<const JsonGrammar> grammar, std::shared_ptr<const TokenTrie> vocabulary,
                             std::vector<int32_t> stop_ids)
    : GuidedDecoder(std::make_shared<GuidedMaskCache>(std::move(grammar), std::move(vocabulary)), std::move(stop_ids)) {
}

const GuidedMaskCache::Bits& GuidedDecoder::allowed_bits() {
  if (!allowed_) allowed_ = masks_->allowed(state_);
  return *allowed_;
}

void GuidedDecoder::prepare() {
  if (!off_ && matcher_.can_continue(state_)) allowed_bits();
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
  allowed_.reset();
  if (id < 0 || id >= vocabulary_->vocab_size() || !matcher_.advance(state_, vocabulary_->bytes(id))) off_ = true;
}

bool GuidedDecoder::complete() const { return !off_ && matcher_.can_end(state_) && !matcher_.can_continue(state_); }

}  // namespace turbine
