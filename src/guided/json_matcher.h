// A pushdown recognizer of JSON over bytes, following a JsonGrammar: it accepts exactly the
// prefixes of the texts the grammar allows (RFC 8259 strings with escapes and UTF-8 checked,
// numbers with the exact grammar, literals, nesting, whitespace; strings held to a pattern or a
// length as constrained_string.h has them). Where the grammar leaves a choice open (anyOf, an enum,
// which optional key comes next) the state holds one stack per live alternative, so a state is a
// small flat array: copying it is cheap, and advance() writes the next state without touching the
// previous one, which lets a token's bytes be tried without committing.
//
// Limits that keep a model from being trapped: a run of whitespace between tokens of the JSON is at
// most kMaxWhitespaceRun bytes with at most one line break ("\n" or "\r\n"), none after the complete
// value; values nest at most kMaxNesting deep.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "guided/json_grammar.h"

namespace turbine {

constexpr int kMaxWhitespaceRun = 6;
constexpr int kMaxNesting = 64;

// One entry of a stack. Every field is always set (the state's bytes are its cache key).
struct MatcherFrame {
  uint8_t kind = 0;
  uint8_t phase = 0;
  uint16_t spare = 0;  // a constrained string's automaton state
  int32_t node = 0;
  int32_t a = 0;
  int32_t b = 0;
  bool operator==(const MatcherFrame&) const = default;
};

// The stacks of the live alternatives, one after the other, each led by a header frame.
struct MatcherState {
  std::vector<MatcherFrame> frames;
  bool dead() const { return frames.empty(); }
  // Exact identity of the state (for mask caches).
  std::string_view key() const {
    return {reinterpret_cast<const char*>(frames.data()), frames.size() * sizeof(MatcherFrame)};
  }
  bool operator==(const MatcherState&) const = default;
};

class JsonMatcher {
 public:
  explicit JsonMatcher(const JsonGrammar& grammar) : grammar_(grammar) {}

  // The state before any byte: the grammar's root value, leading whitespace allowed.
  MatcherState start() const;
  // `to` = `from` after `byte` (its buffers reused); false (and `to` dead) when rejected.
  bool advance(const MatcherState& from, uint8_t byte, MatcherState& to) const;
  // The same for many bytes, in place; false when any is rejected (the state is then dead).
  bool advance(MatcherState& state, std::string_view bytes) const;
  // The value is complete here (the output may end).
  bool can_end(const MatcherState& state) const;
  // Some byte may still follow (false once a complete value cannot grow).
  bool can_continue(const MatcherState& state) const;
  // `state` with the code points counted so far under a maxLength set to 0 where no `span` code points
  // from here can bring the count near the bound (count + span + the automaton's farthest() <= bound):
  // every byte the next `span` code points take is then taken or rejected as from a count of 0. A mask
  // cache keys and walks a state so (`span`: the longest token's bytes), so that one set serves a long
  // string under a maxLength. False (and `out` untouched) where no count changes.
  bool without_distant_counts(const MatcherState& state, int64_t span, MatcherState& out) const;

 private:
  bool feed(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const;
  bool feed_value(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const;
  bool feed_object(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const;
  bool feed_array(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const;
  // Replaces the stack at `base` (the last one) by one copy per choice, each changed by
  // choose(out, i) and then fed `byte`.
  template <typename Choose>
  bool fork(std::vector<MatcherFrame>& out, size_t base, size_t choices, uint8_t byte, Choose choose) const;

  const JsonGrammar& grammar_;
};

}  // namespace turbine
