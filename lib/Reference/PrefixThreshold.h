//===- PrefixThreshold.h - SPARSEK threshold of a growing set ---*- C++ -*-===//
//
// tau(S, k) for a set S of entries of a fixed vector z that only grows.
//
// f(t) = sum_{j in S} clip(z_j - t, 0, 1) is continuous, non-increasing and
// linear between breakpoints {z_j - 1, z_j}. tau is the smallest t with
// f(t) = k. Inserting entries raises f everywhere, so tau never decreases:
// a pointer over the sorted breakpoints of all of z only moves forward.
// Fenwick trees over the ranks of z hold the count and sum of the entries of
// S, so f at any point costs O(log n); inserting all n entries and asking
// for tau after each costs O(n log n) in all.
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

  /// tau(S, k); -inf while |S| <= k. All calls on one object must pass the
  /// same k (the breakpoint pointer is monotone only for a fixed k).
  double tau(int64_t k);

private:
  /// Count and sum of the entries of S with rank in [lo, hi).
  void rangeQuery(int64_t lo, int64_t hi, int64_t &count, double &sum) const;
  void prefixQuery(int64_t r, int64_t &count, double &sum) const;
  /// f on a stretch without breakpoints: f(t) = base - slope * t, where
  /// ranks >= capLo are capped and ranks in [midLo, capLo) in between.
  struct Linear {
    double base, slope;
  };
  Linear linearAt(int64_t capLo, int64_t midLo) const;
  /// f(t) over S.
  double eval(double t) const;
  /// The smallest t in (breakpoints[pointer - 1], breakpoints[pointer]]
  /// with f(t) = kk.
  double solve(double kk) const;

  int64_t n, size = 0, pointer = 0;
  double lastTau = kNegInf;
  std::vector<int64_t> rankOf;
  std::vector<double> sortedZ, sortedZm1, breakpoints;
  std::vector<int64_t> treeCount;
  std::vector<double> treeSum;
};

} // namespace sparsek::ref

#endif // SPARSEK_LIB_REFERENCE_PREFIXTHRESHOLD_H
