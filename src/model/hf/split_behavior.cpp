#include "model/hf/split_behavior.h"

#include <algorithm>

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

std::vector<TextSpan> split_by_matches(const std::vector<TextSpan>& matches, size_t length,
                                       SplitBehavior behavior, bool invert) {
  // 1. Cover the whole text with alternating gap / match spans.
  struct Marked {
    TextSpan span;
    bool is_match;
  };
  std::vector<Marked> marked;
  marked.reserve(matches.size() * 2 + 1);
  size_t previous = 0;
  for (const TextSpan& m : matches) {
    if (m.begin > previous) marked.push_back({{previous, m.begin}, invert});
    marked.push_back({m, !invert});
    previous = m.end;
  }
  if (previous < length) marked.push_back({{previous, length}, invert});

  // 2. Group spans according to the behavior (mirrors HF NormalizedString::split).
  std::vector<TextSpan> pieces;
  pieces.reserve(marked.size());
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const Marked& m : marked) pieces.push_back(m.span);
      break;
    case SplitBehavior::Removed:
      for (const Marked& m : marked)
        if (!m.is_match) pieces.push_back(m.span);
      break;
    case SplitBehavior::Contiguous: {
      bool previous_match = false;
      for (const Marked& m : marked) {
        if (m.is_match == previous_match && !pieces.empty()) {
          pieces.back().end = m.span.end;
        } else {
          pieces.push_back(m.span);
        }
        previous_match = m.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const Marked& m : marked) {
        if (m.is_match && !previous_match && !pieces.empty()) {
          pieces.back().end = m.span.end;
        } else {
          pieces.push_back(m.span);
        }
        previous_match = m.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool previous_match = false;
      for (auto it = marked.rbegin(); it != marked.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) {
          pieces.back().begin = it->span.begin;
        } else {
          pieces.push_back(it->span);
        }
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    }
  }
  std::erase_if(pieces, [](const TextSpan& s) { return s.end <= s.begin; });
  return pieces;
}

}  // namespace turbine::hf
