#include "engine/sorted_mass.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace turbine {

namespace {

// Parts this small are sorted and walked token by token.
constexpr size_t kWalkSize = 256;

struct Weighted {
  ScaledLogit token;
  double weight = 0.0;
};

// Monotone in the logit (a larger one never lands in a later bucket) and the same for equal
// logits, so each bucket holds a contiguous stretch of the sorted order. (int, not size_t: x86
// converts a double to a signed integer in one instruction.)
int bucket_of(double logit, double top) {
  constexpr int kLast = int(SortedMass::kBuckets) - 1;
  const double d = (top - logit) * SortedMass::kBucketsPerNat;
  return d < double(kLast) ? int(d) : kLast;
}

}  // namespace

SortedMass::SortedMass(std::span<const ScaledLogit> cand, double top) : cand_(cand), top_(top) {
  for (const auto& c : cand) {
    const int b = bucket_of(c.logit, top);
    mass_[b] += std::exp(c.logit - top);
    ++count_[b];
  }
  // Summed in the order locate walks the buckets: past the last one, its sum is exactly the total.
  for (double m : mass_) total_ += m;
}

ScaledLogit SortedMass::locate(double target, bool inclusive) const {
  auto reaches = [&](double sum) { return inclusive ? sum >= target : sum > target; };
  double above = 0;  // the mass of every token before the part still searched
  int b = 0;
  while (b < int(kBuckets) && !reaches(above + mass_[b])) above += mass_[b++];
  if (b == int(kBuckets))  // rounding left the target past the total: the least likely token
    return *std::max_element(cand_.begin(), cand_.end(), sorts_before);

  // Never an empty bucket: with no mass it cannot reach what the buckets before it did not.
  std::vector<Weighted> part;
  part.reserve(count_[b]);
  // bucket_of(c.logit, top_) == b, written as a range of the same product: no conversion.
  const bool last_bucket = b == int(kBuckets) - 1;
  for (const auto& c : cand_) {
    const double d = (top_ - c.logit) * kBucketsPerNat;
    if (d >= double(b) && (last_bucket || d < double(b + 1))) part.push_back({c, std::exp(c.logit - top_)});
  }

  // A bucket of a flat row can hold most of it: halve it, keeping the half the target falls in.
  auto order = [](const Weighted& x, const Weighted& y) { return sorts_before(x.token, y.token); };
  auto first = part.begin(), last = part.end();
  while (size_t(last - first) > kWalkSize) {
    const auto mid = first + (last - first) / 2;
    std::nth_element(first, mid, last, order);
    double upper = 0;
    for (auto it = first; it != mid; ++it) upper += it->weight;
    if (reaches(above + upper)) {
      last = mid;
    } else {
      above += upper;
      first = mid;
    }
  }
  std::sort(first, last, order);
  for (auto it = first; it != last; ++it) {
    above += it->weight;
    if (reaches(above)) return it->token;
  }
  return (last - 1)->token;  // rounding: the sum over this part fell short of the bucket's
}

}  // namespace turbine
