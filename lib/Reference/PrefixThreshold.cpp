//===- PrefixThreshold.cpp - SPARSEK threshold of a growing set -*- C++ -*-===//

#include "PrefixThreshold.h"
#include "sparsek/Reference/Reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace sparsek::ref {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

/// r(z) = z - floor(z) in [0, 1) for finite z; 0 for infinities.
double fracPart(double z) { return std::isfinite(z) ? z - std::floor(z) : 0; }
} // namespace

PrefixThreshold::PrefixThreshold(const double *z, int64_t n)
    : n(n), rankOf(n), sortedZ(n), sortedZm1(n), treeCount(n + 1, 0),
      treeFrac(n + 1, 0.0L) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // NaN sorts first and, like -inf, never counts.
  auto key = [&](int64_t a) { return std::isnan(z[a]) ? -kInf : z[a]; };
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return key(a) < key(b); });
  breakpoints.reserve(2 * n);
  for (int64_t r = 0; r < n; ++r) {
    rankOf[order[r]] = r;
    sortedZ[r] = key(order[r]);
    // fl(z - 1) is monotone in z, so this is sorted in the same order.
    sortedZm1[r] = sortedZ[r] - 1.0;
    if (std::isfinite(sortedZ[r])) {
      breakpoints.push_back(sortedZ[r]);
      breakpoints.push_back(sortedZm1[r]);
    }
  }
  negInfEnd = std::upper_bound(sortedZ.begin(), sortedZ.end(), -kInf) -
              sortedZ.begin();
  posInfBegin = std::lower_bound(sortedZ.begin(), sortedZ.end(), kInf) -
                sortedZ.begin();
  std::sort(breakpoints.begin(), breakpoints.end());
}

void PrefixThreshold::insert(int64_t j) {
  long double r = fracPart(sortedZ[rankOf[j]]);
  for (int64_t i = rankOf[j] + 1; i <= n; i += i & -i) {
    treeCount[i] += 1;
    treeFrac[i] += r;
  }
  ++size;
}

int64_t PrefixThreshold::count(int64_t lo, int64_t hi) const {
  int64_t c = 0;
  for (int64_t i = hi; i > 0; i -= i & -i)
    c += treeCount[i];
  for (int64_t i = lo; i > 0; i -= i & -i)
    c -= treeCount[i];
  return c;
}

long double PrefixThreshold::fracSum(int64_t lo, int64_t hi) const {
  // An empty range sums to exactly 0, not to the rounding error of a
  // difference: at the left end of a flat region of f, f is then an exact
  // integer and the comparison with k in tau() is exact.
  if (count(lo, hi) == 0)
    return 0.0L;
  long double s = 0;
  for (int64_t i = hi; i > 0; i -= i & -i)
    s += treeFrac[i];
  for (int64_t i = lo; i > 0; i -= i & -i)
    s -= treeFrac[i];
  return s;
}

int64_t PrefixThreshold::cappedFrom(double t, bool atT) const {
  // z - 1 >= t, with z > t (at t) or z >= t (just left of t): beyond 2^53
  // fl(z - 1) rounds back to z, which is not capped at t = z.
  auto zm1 = std::lower_bound(sortedZm1.begin(), sortedZm1.end(), t) -
             sortedZm1.begin();
  auto z = (atT ? std::upper_bound(sortedZ.begin(), sortedZ.end(), t)
                : std::lower_bound(sortedZ.begin(), sortedZ.end(), t)) -
           sortedZ.begin();
  return std::max<int64_t>(zm1, z);
}

long double PrefixThreshold::integerAndFracParts(int64_t capLo, int64_t midLo,
                                                 double floorT) const {
  // Fractional entries with floor(z) = F + 1, i.e. z - F >= 1.
  int64_t split = std::partition_point(sortedZ.begin() + midLo,
                                       sortedZ.begin() + capLo,
                                       [&](double z) { return !(z - floorT >= 1); }) -
                  sortedZ.begin();
  return static_cast<long double>(count(capLo, n)) +
         static_cast<long double>(count(split, capLo)) + fracSum(midLo, capLo);
}

double PrefixThreshold::linear(int64_t capLo, int64_t midLo, double floorT,
                               double t) const {
  midLo = std::min(midLo, capLo);
  int64_t frac = count(midLo, capLo);
  if (frac == 0)
    return static_cast<double>(count(capLo, n));
  // f(t) = capped + sum_frac (floor(z) - F) + sum_frac r(z) + #frac (F - t).
  long double f = integerAndFracParts(capLo, midLo, floorT) +
                  static_cast<long double>(frac) *
                      (static_cast<long double>(floorT) - t);
  return static_cast<double>(f);
}

double PrefixThreshold::eval(double t) const {
  // Capped: z - 1 >= t. Fractional: z > t and not capped.
  return linear(cappedFrom(t, /*atT=*/true),
                std::upper_bound(sortedZ.begin(), sortedZ.end(), t) -
                    sortedZ.begin(),
                std::floor(t), t);
}

double PrefixThreshold::tau(int64_t k) {
  // Entries of -inf contribute nothing at any finite t.
  if (size - count(0, negInfEnd) <= k)
    return kNegInf;
  // More than k entries of +inf: f > k everywhere.
  if (count(posInfBegin, n) > k)
    return lastTau = kInf;
  double kk = static_cast<double>(k);
  // Invariant: f(breakpoints[pointer - 1]) > k (at the smallest breakpoint,
  // min z - 1, every counted entry is capped: f > k). f after the largest
  // breakpoint (max finite z) counts only +inf entries, at most k, so the
  // pointer stops inside the array.
  while (pointer + 1 < static_cast<int64_t>(breakpoints.size()) &&
         eval(breakpoints[pointer]) > kk)
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
  // capped are z - 1 >= hiT, fractional are z >= hiT and not capped, and
  // fractional entries have floor(z) = F or F + 1 with F = floor(hiT):
  //   f(t) = capped + #{frac : z >= F + 1} + sum r + #frac * (F - t).
  int64_t capLo = cappedFrom(hiT, /*atT=*/false);
  int64_t midLo = std::min<int64_t>(
      std::lower_bound(sortedZ.begin(), sortedZ.end(), hiT) - sortedZ.begin(),
      capLo);
  int64_t frac = count(midLo, capLo);
  if (frac == 0)
    return hiT;
  double floorT = std::floor(hiT);
  long double excess = integerAndFracParts(capLo, midLo, floorT) - kk;
  double t = static_cast<double>(floorT + excess / frac);
  return std::min(std::max(t, loT), hiT);
}

} // namespace sparsek::ref
