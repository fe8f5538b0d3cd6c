// A deterministic automaton over code points that accepts whole strings (a pattern's, a format's, a
// length bound's). It is kept
// - trimmed: every state can still reach an accepting one, so an edge never leads into a dead end and
//   the JSON matcher needs no liveness check beyond following edges (and its length bound, for which
//   shortest() says how far acceptance is);
// - minimal, and numbered in a canonical order (breadth first from the start, edges in code point
//   order): automata built the same way are equal, which keeps JsonGrammar::operator== meaningful.
// Its edges never cover a UTF-16 surrogate (code_point_set.h).
#pragma once
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace turbine {

// The most states an automaton may have, while it is built too (regex_compile.h): a bound on the
// work a pattern may cause, and what the JSON matcher's 16-bit state field can hold.
constexpr int32_t kMaxDfaStates = 8192;

class RegexDfa {
 public:
  struct Edge {
    char32_t first = 0, last = 0;
    int32_t target = 0;
    bool operator==(const Edge&) const = default;
  };
  // What the builders make: states with sorted, disjoint edges, some of them dead or unreachable.
  struct Draft {
    std::vector<std::vector<Edge>> edges;
    std::vector<bool> accepting;
    int32_t start = 0;
  };
  static constexpr int32_t kStart = 0;

  // Trimmed, minimized and numbered; empty() when the draft accepts nothing.
  static RegexDfa from_draft(const Draft& draft);
  // Every string of at least `length` code points.
  static RegexDfa at_least(int32_t length);

  bool empty() const { return accepting_.empty(); }
  int32_t size() const { return int32_t(accepting_.size()); }
  bool accepting(int32_t state) const { return accepting_[size_t(state)] != 0; }
  // The fewest code points from `state` to an accepting state.
  int32_t shortest(int32_t state) const { return shortest_[size_t(state)]; }
  // The most of shortest() over the states: no state is farther from acceptance.
  int32_t farthest() const { return farthest_; }
  std::span<const Edge> edges(int32_t state) const {
    return std::span(edges_).subspan(size_t(edge_begin_[size_t(state)]),
                                     size_t(edge_begin_[size_t(state) + 1] - edge_begin_[size_t(state)]));
  }
  // The state after `c`, or -1 when `c` cannot come next.
  int32_t step(int32_t state, char32_t c) const {
    int32_t target = -1;
    any_edge_within(state, c, c, [&](int32_t t) { return target = t, true; });
    return target;
  }
  // Whether some code point of [first, last] leads from `state` to a state `accept` takes.
  template <typename Accept>
  bool any_edge_within(int32_t state, char32_t first, char32_t last, Accept accept) const {
    const std::span<const Edge> e = edges(state);
    auto it = std::lower_bound(e.begin(), e.end(), first, [](const Edge& edge, char32_t c) { return edge.last < c; });
    for (; it != e.end() && it->first <= last; ++it)
      if (accept(it->target)) return true;
    return false;
  }
  bool operator==(const RegexDfa&) const = default;

 private:
  std::vector<int32_t> edge_begin_;  // per state, and one past the last
  std::vector<Edge> edges_;
  std::vector<uint8_t> accepting_;
  std::vector<int32_t> shortest_;
  int32_t farthest_ = 0;
};

// The automaton of the strings both accept. Throws RegexError when it would pass kMaxDfaStates.
RegexDfa intersect(const RegexDfa& a, const RegexDfa& b);

}  // namespace turbine
