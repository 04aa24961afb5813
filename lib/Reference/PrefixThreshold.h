//===- PrefixThreshold.h - SPARSEK threshold of a growing set ---*- C++ -*-===//
//
// tau(S, k) for a set S of entries of a fixed vector z that only grows.
//
// f(t) = sum_{j in S} clip(z_j - t, 0, 1) is continuous, non-increasing and
// linear between breakpoints {z_j - 1, z_j}. tau is the smallest t with
// f(t) = k. Inserting entries raises f everywhere, so tau never decreases:
// a pointer over the sorted breakpoints of all of z only moves forward.
// Fenwick trees over the ranks of z hold the entries of S, so f at any point
// costs O(log n); inserting all n entries and asking for tau after each
// costs O(n log n) in all.
//
// Exactness for any scores, however large: f is never formed from sums of
// scores (a prefix sum holding 1e30 and -1e30 loses everything below 1e14).
// At t, an entry is capped (z - 1 >= t, contributing 1), fractional
// (t < z < t + 1) or dead. Fractional entries have floor(z) = F or F + 1
// with F = floor(t), so
//
//   f(t) = #capped + #frac * (F - t) + #{frac : z >= F + 1} + sum_frac r(z)
//
// with r(z) = z - floor(z) in [0, 1): counts are exact and the Fenwick tree
// sums only fractional parts (in long double).
//
// Infinite scores: an entry of -inf never counts (clip(-inf - t) = 0 for
// every finite t), so tau = -inf while S holds at most k entries above
// -inf. More than k entries of +inf make f > k everywhere: tau = +inf.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_LIB_REFERENCE_PREFIXTHRESHOLD_H
#define SPARSEK_LIB_REFERENCE_PREFIXTHRESHOLD_H

#include "sparsek/Reference/Reference.h"

#include <cstdint>
#include <vector>

namespace sparsek::ref {

class PrefixThreshold {
public:
  PrefixThreshold(const double *z, int64_t n);

  /// Adds entry j of z to S (each at most once).
  void insert(int64_t j);

  /// tau(S, k); -inf while S holds at most k entries above -inf. All calls
  /// on one object must pass the same k (the breakpoint pointer is monotone
  /// only for a fixed k).
  double tau(int64_t k);

private:
  /// Number of entries of S with rank in [lo, hi), and the sum of their
  /// fractional parts r(z).
  int64_t count(int64_t lo, int64_t hi) const;
  long double fracSum(int64_t lo, int64_t hi) const;
  /// The first rank capped at t (atT) or just left of t: z - 1 >= t,
  /// tested as fl(z - 1) >= t together with z > t (z >= t), since beyond
  /// 2^53 z - 1 rounds back to z.
  int64_t cappedFrom(double t, bool atT) const;
  /// f at t when ranks >= capLo are capped and ranks in [midLo, capLo)
  /// fractional with floor(z) in {F, F + 1}.
  double linear(int64_t capLo, int64_t midLo, double floorT, double t) const;
  /// (count of entries of S) + ... as long double: capped + #{z >= F + 1}
  /// + sum of fractional parts over the fractional ranks.
  long double integerAndFracParts(int64_t capLo, int64_t midLo,
                                  double floorT) const;
  /// f(t) over S, t finite.
  double eval(double t) const;
  /// The smallest t in (breakpoints[pointer - 1], breakpoints[pointer]]
  /// with f(t) = kk.
  double solve(double kk) const;

  int64_t n, size = 0, pointer = 0;
  /// Ranks of -inf and +inf entries: [0, negInfEnd) and [posInfBegin, n).
  int64_t negInfEnd = 0, posInfBegin = 0;
  double lastTau = kNegInf;
  std::vector<int64_t> rankOf;
  std::vector<double> sortedZ, sortedZm1, breakpoints;
  std::vector<int64_t> treeCount;
  std::vector<long double> treeFrac;
};

} // namespace sparsek::ref

#endif // SPARSEK_LIB_REFERENCE_PREFIXTHRESHOLD_H
