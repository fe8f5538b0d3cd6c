// A set of Unicode scalar values (the code points U+0000..U+10FFFF other than the UTF-16 surrogates
// U+D800..U+DFFF, which no decoded JSON string of a guided output holds) as sorted, disjoint,
// non-adjacent ranges: the alphabet of the regex automata, whose edges are such ranges.
#pragma once
#include <cstdint>
#include <vector>

namespace turbine {

constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr char32_t kFirstSurrogate = 0xD800, kLastSurrogate = 0xDFFF;

struct CodePointRange {
  char32_t first = 0, last = 0;
  bool operator==(const CodePointRange&) const = default;
};

class CodePointSet {
 public:
  CodePointSet() = default;
  static CodePointSet of(char32_t first, char32_t last) {
    CodePointSet s;
    s.add(first, last);
    return s;
  }
  static CodePointSet everything() { return of(0, kMaxCodePoint); }

  // Surrogates and anything past U+10FFFF are left out; an empty range (first > last) adds nothing.
  void add(char32_t first, char32_t last);
  void add(const CodePointSet& other);
  // Every scalar value not in this set.
  CodePointSet complement() const;
  bool empty() const { return ranges_.empty(); }
  bool contains(char32_t c) const;
  const std::vector<CodePointRange>& ranges() const { return ranges_; }
  bool operator==(const CodePointSet&) const = default;

 private:
  void insert(char32_t first, char32_t last);
  std::vector<CodePointRange> ranges_;
};

}  // namespace turbine
