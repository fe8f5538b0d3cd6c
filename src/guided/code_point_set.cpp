#include "guided/code_point_set.h"

#include <algorithm>

namespace turbine {

void CodePointSet::add(char32_t first, char32_t last) {
  last = std::min(last, kMaxCodePoint);
  if (first > last) return;
  // The part below the surrogates and the part above them.
  if (first < kFirstSurrogate) insert(first, std::min<char32_t>(last, kFirstSurrogate - 1));
  if (last > kLastSurrogate) insert(std::max<char32_t>(first, kLastSurrogate + 1), last);
}

void CodePointSet::add(const CodePointSet& other) {
  for (const CodePointRange& r : other.ranges_) insert(r.first, r.last);
}

void CodePointSet::insert(char32_t first, char32_t last) {
  // Kept sorted by first; the new range absorbs every range it overlaps or touches.
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), first,
                             [](const CodePointRange& r, char32_t c) { return r.last + 1 < c; });
  auto end = it;
  while (end != ranges_.end() && end->first <= last + 1) {
    first = std::min(first, end->first);
    last = std::max(last, end->last);
    ++end;
  }
  it = ranges_.erase(it, end);
  ranges_.insert(it, {first, last});
}

CodePointSet CodePointSet::complement() const {
  CodePointSet out;
  char32_t next = 0;
  for (const CodePointRange& r : ranges_) {
    if (r.first > next) out.add(next, r.first - 1);
    next = r.last + 1;
  }
  out.add(next, kMaxCodePoint);
  return out;
}

bool CodePointSet::contains(char32_t c) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), c,
                             [](char32_t v, const CodePointRange& r) { return v < r.first; });
  return it != ranges_.begin() && std::prev(it)->last >= c;
}

}  // namespace turbine
