//===- PrefixThreshold.cpp - SPARSEK threshold of a growing set -*- C++ -*-===//

#include "PrefixThreshold.h"
#include "sparsek/Reference/Reference.h"

#include <algorithm>
#include <numeric>

namespace sparsek::ref {

PrefixThreshold::PrefixThreshold(const double *z, int64_t n)
    : n(n), rankOf(n), sortedZ(n), sortedZm1(n), treeCount(n + 1, 0),
      treeSum(n + 1, 0.0) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return z[a] < z[b]; });
  breakpoints.reserve(2 * n);
  for (int64_t r = 0; r < n; ++r) {
    rankOf[order[r]] = r;
    sortedZ[r] = z[order[r]];
    // fl(z - 1) is monotone in z, so this is sorted in the same order.
    sortedZm1[r] = sortedZ[r] - 1.0;
    breakpoints.push_back(sortedZ[r]);
    breakpoints.push_back(sortedZm1[r]);
  }
  std::sort(breakpoints.begin(), breakpoints.end());
}

void PrefixThreshold::insert(int64_t j) {
  double v = sortedZ[rankOf[j]];
  for (int64_t i = rankOf[j] + 1; i <= n; i += i & -i) {
    treeCount[i] += 1;
    treeSum[i] += v;
  }
  ++size;
}

void PrefixThreshold::prefixQuery(int64_t r, int64_t &count,
                                  double &sum) const {
  count = 0;
  sum = 0;
  for (int64_t i = r; i > 0; i -= i & -i) {
    count += treeCount[i];
    sum += treeSum[i];
  }
}

void PrefixThreshold::rangeQuery(int64_t lo, int64_t hi, int64_t &count,
                                 double &sum) const {
  int64_t cl, ch;
  double sl, sh;
  prefixQuery(lo, cl, sl);
  prefixQuery(hi, ch, sh);
  count = ch - cl;
  // An empty range sums to exactly 0, not to the rounding error of sh - sl:
  // at the left end of a flat region of f, f is then an exact integer and
  // the comparison with k in tau() is exact.
  sum = count == 0 ? 0.0 : sh - sl;
}

PrefixThreshold::Linear PrefixThreshold::linearAt(int64_t capLo,
                                                  int64_t midLo) const {
  int64_t capCount, midCount;
  double capSum, midSum;
  rangeQuery(capLo, n, capCount, capSum);
  rangeQuery(std::min(midLo, capLo), capLo, midCount, midSum);
  return {static_cast<double>(capCount) + midSum,
          static_cast<double>(midCount)};
}

double PrefixThreshold::eval(double t) const {
  // Capped: z - 1 >= t. Between: z > t and z - 1 < t.
  Linear f = linearAt(
      std::lower_bound(sortedZm1.begin(), sortedZm1.end(), t) -
          sortedZm1.begin(),
      std::upper_bound(sortedZ.begin(), sortedZ.end(), t) - sortedZ.begin());
  return f.base - f.slope * t;
}

double PrefixThreshold::tau(int64_t k) {
  if (size <= k)
    return kNegInf;
  double kk = static_cast<double>(k);
  // Invariant: f(breakpoints[pointer - 1]) > k. f at the largest breakpoint
  // (max z) is 0 < k, so the pointer stops inside the array.
  while (eval(breakpoints[pointer]) > kk)
    ++pointer;
  // tau never decreases as S grows; clamping to the last answer keeps that
  // exact where two evaluations of the same tau round differently.
  lastTau = std::max(lastTau, solve(kk));
  return lastTau;
}

double PrefixThreshold::solve(double kk) const {
  double hiT = breakpoints[pointer];
  if (pointer == 0 || eval(hiT) == kk)
    return hiT;
  double loT = breakpoints[pointer - 1];
  // On (loT, hiT] no breakpoint lies strictly inside, so f is linear there:
  // capped are z - 1 >= hiT, between are z >= hiT with z - 1 < hiT.
  Linear f = linearAt(
      std::lower_bound(sortedZm1.begin(), sortedZm1.end(), hiT) -
          sortedZm1.begin(),
      std::lower_bound(sortedZ.begin(), sortedZ.end(), hiT) - sortedZ.begin());
  if (f.slope == 0)
    return hiT;
  double t = (f.base - kk) / f.slope;
  return std::min(std::max(t, loT), hiT);
}

} // namespace sparsek::ref
