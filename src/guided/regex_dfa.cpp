#include "guided/regex_dfa.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>
#include <unordered_map>

#include "guided/code_point_set.h"
#include "guided/regex_syntax.h"

namespace turbine {
namespace {

using Edge = RegexDfa::Edge;
constexpr int32_t kUnreachable = std::numeric_limits<int32_t>::max();

[[noreturn]] void too_many_states() {
  throw RegexError(fmt::format("the automaton would have over {} states", kMaxDfaStates));
}

// The fewest edges from each state to an accepting one (kUnreachable where there is none).
std::vector<int32_t> distances_to_acceptance(const RegexDfa::Draft& d) {
  const size_t n = d.edges.size();
  std::vector<std::vector<int32_t>> sources(n);
  for (size_t s = 0; s < n; ++s)
    for (const Edge& e : d.edges[s]) sources[size_t(e.target)].push_back(int32_t(s));
  std::vector<int32_t> distance(n, kUnreachable), queue;
  for (size_t s = 0; s < n; ++s)
    if (d.accepting[s]) distance[s] = 0, queue.push_back(int32_t(s));
  for (size_t i = 0; i < queue.size(); ++i)
    for (int32_t source : sources[size_t(queue[i])])
      if (distance[size_t(source)] == kUnreachable)
        distance[size_t(source)] = distance[size_t(queue[i])] + 1, queue.push_back(source);
  return distance;
}

// The most edges from each kept state to an accepting one along kept states (kUnreachable where a
// cycle makes it unbounded): Kahn's order backwards from the states without kept edges.
template <typename Kept>
std::vector<int32_t> longest_to_acceptance(const RegexDfa::Draft& d, Kept kept) {
  const size_t n = d.edges.size();
  std::vector<std::vector<int32_t>> sources(n);
  std::vector<int32_t> pending(n, 0), longest(n, kUnreachable), ready;
  for (size_t s = 0; s < n; ++s) {
    if (!kept(s)) continue;
    for (const Edge& e : d.edges[s])
      if (kept(size_t(e.target))) sources[size_t(e.target)].push_back(int32_t(s)), ++pending[s];
    if (pending[s] == 0) ready.push_back(int32_t(s));
  }
  std::vector<int32_t> best(n, -1);  // the longest path through the successors done so far
  for (size_t i = 0; i < ready.size(); ++i) {
    const auto s = size_t(ready[i]);
    longest[s] = best[s] >= 0 ? best[s] : 0;
    for (int32_t source : sources[s]) {
      best[size_t(source)] = std::max(best[size_t(source)], longest[s] + 1);
      if (--pending[size_t(source)] == 0) ready.push_back(source);
    }
  }
  return longest;
}

std::vector<bool> reachable_from_start(const RegexDfa::Draft& d) {
  std::vector<bool> seen(d.edges.size());
  std::vector<int32_t> todo = {d.start};
  seen[size_t(d.start)] = true;
  while (!todo.empty()) {
    const int32_t s = todo.back();
    todo.pop_back();
    for (const Edge& e : d.edges[size_t(s)])
      if (!seen[size_t(e.target)]) seen[size_t(e.target)] = true, todo.push_back(e.target);
  }
  return seen;
}

// The edges of `state` towards kept states, their targets mapped by `target_of`, neighbours with the
// same target merged. Appended to `out` as (first, last, target) triples.
template <typename TargetOf>
void merged_edges(const std::vector<Edge>& edges, TargetOf target_of, std::vector<int64_t>& out) {
  const size_t begin = out.size();
  for (const Edge& e : edges) {
    const int32_t target = target_of(e.target);
    if (target < 0) continue;
    const size_t n = out.size();
    if (n > begin && out[n - 1] == target && out[n - 2] + 1 == int64_t(e.first)) {
      out[n - 2] = e.last;
      continue;
    }
    out.insert(out.end(), {int64_t(e.first), int64_t(e.last), int64_t(target)});
  }
}

}  // namespace

RegexDfa RegexDfa::from_draft(const Draft& d) {
  const size_t n = d.edges.size();
  const std::vector<bool> reachable = reachable_from_start(d);
  const std::vector<int32_t> distance = distances_to_acceptance(d);
  auto kept = [&](size_t s) { return reachable[s] && distance[s] != kUnreachable; };
  if (!kept(size_t(d.start))) return {};

  // Moore's partition refinement, seeded by (accepting, shortest and longest way to acceptance):
  // states that differ there accept different strings, and the seed already splits the long chains
  // of counted repetitions, which would otherwise take one round per link.
  const std::vector<int32_t> longest = longest_to_acceptance(d, kept);
  std::vector<int32_t> group(n, -1);
  size_t groups = 0;
  {
    std::map<std::tuple<bool, int32_t, int32_t>, int32_t> seed;
    for (size_t s = 0; s < n; ++s)
      if (kept(s))
        group[s] =
            seed.emplace(std::tuple(bool(d.accepting[s]), distance[s], longest[s]), int32_t(seed.size())).first->second;
    groups = seed.size();
  }
  std::vector<int64_t> signature;
  for (;;) {
    std::map<std::vector<int64_t>, int32_t> ids;
    std::vector<int32_t> next(n, -1);
    for (size_t s = 0; s < n; ++s) {
      if (!kept(s)) continue;
      signature.assign(1, group[s]);
      merged_edges(
          d.edges[s], [&](int32_t t) { return group[size_t(t)]; }, signature);
      next[s] = ids.emplace(signature, int32_t(ids.size())).first->second;
    }
    group.swap(next);
    const bool stable = ids.size() == groups;
    groups = ids.size();
    if (stable) break;
  }

  // One state per group, numbered breadth first from the start.
  std::vector<int32_t> representative(groups, -1), number(groups, -1), order;
  for (size_t s = n; s-- > 0;)
    if (kept(s)) representative[size_t(group[s])] = int32_t(s);
  number[size_t(group[size_t(d.start)])] = 0;
  order.push_back(group[size_t(d.start)]);
  RegexDfa out;
  std::vector<int64_t> triples;
  for (size_t i = 0; i < order.size(); ++i) {
    const auto s = size_t(representative[size_t(order[i])]);
    out.edge_begin_.push_back(int32_t(out.edges_.size()));
    out.accepting_.push_back(d.accepting[s]);
    out.shortest_.push_back(distance[s]);
    out.farthest_ = std::max(out.farthest_, distance[s]);
    triples.clear();
    merged_edges(
        d.edges[s], [&](int32_t t) { return group[size_t(t)]; }, triples);
    for (size_t k = 0; k < triples.size(); k += 3) {
      const auto g = size_t(triples[k + 2]);
      if (number[g] < 0) number[g] = int32_t(order.size()), order.push_back(int32_t(g));
      out.edges_.push_back({char32_t(triples[k]), char32_t(triples[k + 1]), number[g]});
    }
  }
  out.edge_begin_.push_back(int32_t(out.edges_.size()));
  return out;
}

RegexDfa RegexDfa::at_least(int32_t length) {
  if (length >= kMaxDfaStates) too_many_states();
  Draft d;
  d.edges.resize(size_t(length) + 1);
  d.accepting.assign(size_t(length) + 1, false);
  d.accepting[size_t(length)] = true;
  const CodePointSet all = CodePointSet::everything();
  for (int32_t s = 0; s <= length; ++s)
    for (const CodePointRange& r : all.ranges())
      d.edges[size_t(s)].push_back({r.first, r.last, std::min(s + 1, length)});
  return from_draft(d);
}

RegexDfa intersect(const RegexDfa& a, const RegexDfa& b) {
  if (a.empty() || b.empty()) return {};
  // The product of the two, over the pairs of states reachable from the pair of starts.
  RegexDfa::Draft d;
  std::unordered_map<int64_t, int32_t> ids;
  std::vector<std::pair<int32_t, int32_t>> pairs;
  auto id = [&](int32_t x, int32_t y) {
    const auto [it, added] = ids.emplace(int64_t(x) * b.size() + y, int32_t(pairs.size()));
    if (added) {
      if (pairs.size() >= size_t(kMaxDfaStates)) too_many_states();
      pairs.emplace_back(x, y);
    }
    return it->second;
  };
  id(RegexDfa::kStart, RegexDfa::kStart);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto [x, y] = pairs[i];
    const std::span<const Edge> ea = a.edges(x), eb = b.edges(y);
    std::vector<Edge> edges;
    for (size_t p = 0, q = 0; p < ea.size() && q < eb.size();) {
      const char32_t first = std::max(ea[p].first, eb[q].first), last = std::min(ea[p].last, eb[q].last);
      if (first <= last) edges.push_back({first, last, id(ea[p].target, eb[q].target)});
      if (ea[p].last < eb[q].last)
        ++p;
      else
        ++q;
    }
    d.edges.push_back(std::move(edges));
    d.accepting.push_back(a.accepting(x) && b.accepting(y));
  }
  return RegexDfa::from_draft(d);
}

}  // namespace turbine
