#include "guided/regex_compile.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "guided/regex_syntax.h"

namespace turbine {
namespace {

using Kind = RegexTree::Kind;
using Edge = RegexDfa::Edge;

// Thompson's construction: each tree node becomes a fragment with one entry and one exit state.
class NfaBuilder {
 public:
  struct State {
    std::vector<int32_t> epsilon;
    int32_t set = -1;  // a Set node of the tree: the code points that lead to `next`
    int32_t next = -1;
  };

  explicit NfaBuilder(const RegexTree& tree) : tree_(tree) {}

  std::pair<int32_t, int32_t> build(int32_t node) {
    const RegexTree::Node& n = tree_.nodes[size_t(node)];
    const int32_t entry = add();
    switch (n.kind) {
      case Kind::Set: {
        const int32_t exit = add();
        states_[size_t(entry)].set = node;
        states_[size_t(entry)].next = exit;
        return {entry, exit};
      }
      case Kind::Sequence: {
        int32_t at = entry;
        for (int32_t child : n.children) at = append(at, child);
        return {entry, at};
      }
      case Kind::Either: {
        const int32_t exit = add();
        for (int32_t child : n.children) {
          const auto [first, last] = build(child);
          link(entry, first);
          link(last, exit);
        }
        return {entry, exit};
      }
      case Kind::Repeat: {
        const int32_t child = n.children[0];
        int32_t at = entry;
        for (int32_t i = 0; i < n.min; ++i) at = append(at, child);
        if (n.max == kUnboundedRepeat) {
          const int32_t hub = add();
          link(at, hub);
          const auto [first, last] = build(child);
          link(hub, first);
          link(last, hub);
          return {entry, hub};
        }
        const int32_t exit = add();
        for (int32_t i = n.min; i < n.max; ++i) {
          link(at, exit);
          at = append(at, child);
        }
        link(at, exit);
        return {entry, exit};
      }
    }
    return {entry, entry};
  }

  const std::vector<State>& states() const { return states_; }

 private:
  int32_t add() {
    if (states_.size() >= size_t(kMaxNfaStates))
      throw RegexError(
          fmt::format("the pattern is too large (over {} automaton states before determinization)", kMaxNfaStates));
    states_.emplace_back();
    return int32_t(states_.size() - 1);
  }
  void link(int32_t from, int32_t to) { states_[size_t(from)].epsilon.push_back(to); }
  // `child` after `at`; returns the new end.
  int32_t append(int32_t at, int32_t child) {
    const auto [first, last] = build(child);
    link(at, first);
    return last;
  }

  const RegexTree& tree_;
  std::vector<State> states_;
};

// The subset construction over code point ranges: a deterministic state per set of NFA states,
// edges on the elementary ranges that the NFA's sets cut the code points into.
class Determinizer {
 public:
  Determinizer(const RegexTree& tree, const std::vector<NfaBuilder::State>& nfa)
      : tree_(tree), nfa_(nfa), mark_(nfa.size(), 0) {}

  RegexDfa::Draft run(int32_t entry, int32_t exit) {
    RegexDfa::Draft d;
    d.start = id(closure({entry}));
    for (size_t i = 0; i < subsets_.size(); ++i) {
      const std::vector<int32_t> subset = subsets_[i];
      std::vector<char32_t> bounds;
      for (int32_t s : subset)
        if (nfa_[size_t(s)].set >= 0)
          for (const CodePointRange& r : tree_.nodes[size_t(nfa_[size_t(s)].set)].set.ranges())
            bounds.insert(bounds.end(), {r.first, r.last + 1});
      std::sort(bounds.begin(), bounds.end());
      bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
      // targets[k]: the NFA states reached on [bounds[k], bounds[k + 1]).
      std::vector<std::vector<int32_t>> targets(bounds.size());
      for (int32_t s : subset) {
        const NfaBuilder::State& state = nfa_[size_t(s)];
        if (state.set < 0) continue;
        for (const CodePointRange& r : tree_.nodes[size_t(state.set)].set.ranges()) {
          const auto from = size_t(std::lower_bound(bounds.begin(), bounds.end(), r.first) - bounds.begin());
          const auto to = size_t(std::lower_bound(bounds.begin(), bounds.end(), r.last + 1) - bounds.begin());
          for (size_t k = from; k < to; ++k) targets[k].push_back(state.next);
        }
      }
      std::vector<Edge> edges;
      for (size_t k = 0; k + 1 < bounds.size(); ++k) {
        if (targets[k].empty()) continue;
        const int32_t target = id(closure(std::move(targets[k])));
        if (!edges.empty() && edges.back().target == target && edges.back().last + 1 == bounds[k])
          edges.back().last = bounds[k + 1] - 1;
        else
          edges.push_back({bounds[k], bounds[k + 1] - 1, target});
      }
      d.edges.push_back(std::move(edges));
      d.accepting.push_back(std::binary_search(subset.begin(), subset.end(), exit));
    }
    return d;
  }

 private:
  // The NFA states reachable from `seeds` without reading a code point, sorted.
  std::vector<int32_t> closure(std::vector<int32_t> seeds) {
    ++generation_;
    std::vector<int32_t> out;
    while (!seeds.empty()) {
      const int32_t s = seeds.back();
      seeds.pop_back();
      if (mark_[size_t(s)] == generation_) continue;
      mark_[size_t(s)] = generation_;
      out.push_back(s);
      for (int32_t e : nfa_[size_t(s)].epsilon)
        if (mark_[size_t(e)] != generation_) seeds.push_back(e);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  int32_t id(std::vector<int32_t> subset) {
    const auto it = ids_.find(subset);
    if (it != ids_.end()) return it->second;
    if (subsets_.size() >= size_t(kMaxDfaStates))
      throw RegexError(fmt::format("the pattern's automaton would have over {} states", kMaxDfaStates));
    const auto id = int32_t(subsets_.size());
    ids_.emplace(subset, id);
    subsets_.push_back(std::move(subset));
    return id;
  }

  const RegexTree& tree_;
  const std::vector<NfaBuilder::State>& nfa_;
  std::vector<uint32_t> mark_;
  uint32_t generation_ = 0;
  std::map<std::vector<int32_t>, int32_t> ids_;
  std::vector<std::vector<int32_t>> subsets_;
};

}  // namespace

RegexDfa compile_regex(std::string_view pattern) {
  const RegexTree tree = parse_regex(pattern);
  NfaBuilder nfa(tree);
  const auto [entry, exit] = nfa.build(tree.root);
  return RegexDfa::from_draft(Determinizer(tree, nfa.states()).run(entry, exit));
}

}  // namespace turbine
