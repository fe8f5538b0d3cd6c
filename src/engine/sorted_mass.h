// Where a running sum of probability mass, taken in a distribution's sorted order (logit
// descending, ties: lower id first), crosses a target: the token a draw picks and the last one
// top-p keeps, found without sorting the candidates. Sorting a 151,936-token row took 12-15 ms
// of the step thread per row and step; this is O(n) expected.
// The candidates are weighed (exp(logit - top), the softmax's numerators) and bucketed by their
// distance from the top logit in one pass; the bucket where the sum crosses the target is halved
// with nth_element until a few hundred tokens remain, which are sorted and walked. The sum runs
// over buckets, halves and tokens, not token by token down the sorted row, so the two agree up
// to double rounding: a target within ~1e-15 relative of a token's boundary may pick its
// neighbour.
#pragma once
#include <array>
#include <cstdint>
#include <span>

#include "engine/sampling_distribution.h"

namespace turbine {

class SortedMass {
 public:
  // `cand`: not empty, in any order, every logit finite; `top` is the largest. Kept by reference:
  // it must outlive this object.
  SortedMass(std::span<const ScaledLogit> cand, double top);

  // The weights exp(logit - top) summed over every candidate: the softmax's normaliser.
  double total() const { return total_; }

  // The first candidate in sorted order at which the running sum of weights from the top
  // exceeds `target` (or reaches it, with `inclusive`); the last candidate in that order when
  // rounding leaves the target at or past the total.
  ScaledLogit locate(double target, bool inclusive) const;

  // Buckets of 1/8 nat of distance from the top logit down to 40 nats, then one for the rest
  // (whose weights, below exp(-40) = 4e-18 each, a target hardly ever reaches).
  static constexpr double kBucketsPerNat = 8;
  static constexpr size_t kBuckets = 40 * 8 + 1;

 private:
  std::span<const ScaledLogit> cand_;
  double top_ = 0.0;
  double total_ = 0.0;
  std::array<double, kBuckets> mass_{};
  std::array<uint32_t, kBuckets> count_{};
};

}  // namespace turbine
