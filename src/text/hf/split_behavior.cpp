#include "text/hf/split_behavior.h"

#include "core/error.h"

namespace turbine::hf {

SplitBehavior parse_split_behavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  fail("{}: unknown split behavior \"{}\"", where, name);
}

void SpanGrouper::flush() {
  if (pending_ && pending_->end > pending_->begin) emit_(*pending_);
  pending_.reset();
}

void SpanGrouper::feed(TextSpan span, bool is_match) {
  switch (behavior_) {
    case SplitBehavior::Isolated:
      if (span.end > span.begin) emit_(span);
      return;
    case SplitBehavior::Removed:
      if (!is_match && span.end > span.begin) emit_(span);
      return;
    case SplitBehavior::Contiguous:
      // Runs of matches, and runs of non-matches, each become one piece.
      if (pending_ && is_match == previous_match_) {
        pending_->end = span.end;
      } else {
        flush();
        pending_ = span;
      }
      break;
    case SplitBehavior::MergedWithPrevious:
      // A match joins the piece before it, unless that piece ended with a match.
      if (pending_ && is_match && !previous_match_) {
        pending_->end = span.end;
      } else {
        flush();
        pending_ = span;
      }
      break;
    case SplitBehavior::MergedWithNext:
      // A match joins the piece after it when that one is not a match.
      if (pending_ && pending_is_match_ && !is_match) {
        pending_->end = span.end;
        pending_is_match_ = false;
        flush();
        previous_match_ = is_match;
        return;
      }
      flush();
      pending_ = span;
      pending_is_match_ = is_match;
      break;
  }
  previous_match_ = is_match;
}

void SpanGrouper::finish() { flush(); }

void split_text(const PcreRegex& regex, std::string_view text, SplitBehavior behavior, bool invert,
                FunctionRef<void(TextSpan)> emit) {
  SpanGrouper grouper(behavior, emit);
  size_t previous = 0;
  regex.for_each_match(text, [&](TextSpan match) {
    if (match.begin > previous) grouper.feed({previous, match.begin}, invert);
    grouper.feed(match, !invert);
    previous = match.end;
  });
  if (previous < text.size()) grouper.feed({previous, text.size()}, invert);
  grouper.finish();
}

}  // namespace turbine::hf
