//===- BruteForce.h - SPEC definitions, computed the slow way ---*- C++ -*-===//
//
// Direct transcriptions of docs/Semantics.md: bisection for tau, a full sort
// for top-k, explicit loops over all keys for attention. Quadratic and slow
// on purpose; only tests use them.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_UNITTESTS_REFERENCE_BRUTEFORCE_H
#define SPARSEK_UNITTESTS_REFERENCE_BRUTEFORCE_H

#include "sparsek/Reference/Reference.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

namespace sparsek::brute {

using ref::kNegInf;

inline double capSum(const std::vector<double> &z, double t) {
  double f = 0;
  for (double v : z)
    f += std::clamp(v - t, 0.0, 1.0);
  return f;
}

/// Smallest t with sum clip(z - t, 0, 1) = k, by bisection; -inf if at
/// most k entries are above -inf (those never count at a finite t).
inline double tau(std::vector<double> z, int64_t k) {
  z.erase(std::remove(z.begin(), z.end(), kNegInf), z.end());
  if (static_cast<int64_t>(z.size()) <= k)
    return kNegInf;
  double lo = *std::min_element(z.begin(), z.end()) - 1.0; // f(lo) = n > k
  double hi = *std::max_element(z.begin(), z.end());       // f(hi) = 0 < k
  for (int it = 0; it < 200; ++it) {
    double mid = 0.5 * (lo + hi);
    if (capSum(z, mid) > static_cast<double>(k))
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

/// Candidates of query i: [0, p(i) - window].
inline std::vector<int64_t> candidates(int64_t i, int64_t m, int64_t n,
                                       int64_t window) {
  std::vector<int64_t> c;
  for (int64_t j = 0; j <= i + m - n - window; ++j)
    c.push_back(j);
  return c;
}

inline double causalTau(const std::vector<double> &u, int64_t i, int64_t m,
                        int64_t n, int64_t k, int64_t window) {
  std::vector<double> z;
  for (int64_t j : candidates(i, m, n, window))
    z.push_back(u[j]);
  return tau(z, k);
}

/// Full sort of the candidates by (score desc, index desc), first k kept.
inline std::vector<int32_t> selection(const std::vector<double> &u,
                                      std::vector<int64_t> cands, int64_t k) {
  std::sort(cands.begin(), cands.end(), [&](int64_t a, int64_t b) {
    return u[a] != u[b] ? u[a] > u[b] : a > b;
  });
  std::vector<int32_t> row(k, -1);
  for (int64_t e = 0; e < k && e < static_cast<int64_t>(cands.size()); ++e)
    row[e] = static_cast<int32_t>(cands[e]);
  return row;
}

/// Attention by its definition: every key j of [0, M) is tested for
/// membership in W_i and S_i. `selRow(b, g, i)` gives S_i, `tauOf(b, g, i)`
/// its threshold; window 0 and `causal = false` give A_i = S_i.
template <typename SelFn, typename TauFn>
std::vector<double> attention(const ref::AttentionShape &s,
                              const std::vector<double> &q,
                              const std::vector<double> &key,
                              const std::vector<double> &value,
                              const std::vector<double> &u, int64_t window,
                              double scale, ref::Gate gate, SelFn selRow,
                              TauFn tauOf) {
  std::vector<double> out(s.batch * s.hq * s.n * s.dv, 0.0);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.hq; ++h) {
      int64_t g = h / (s.hq / s.hkv);
      for (int64_t i = 0; i < s.n; ++i) {
        int64_t pos = i + s.m - s.n;
        std::vector<int32_t> sel = selRow(b, g, i);
        double t = tauOf(b, g, i);
        std::vector<double> l(s.m, kNegInf), w(s.m, 0.0);
        std::vector<bool> in(s.m, false);
        for (int64_t j = 0; j < s.m; ++j) {
          bool inW = pos - window < j && j <= pos;
          bool inS = std::find(sel.begin(), sel.end(), j) != sel.end();
          if (!inW && !inS)
            continue;
          in[j] = true;
          w[j] = inW ? 1.0 : std::clamp(u[(b * s.hkv + g) * s.m + j] - t,
                                         0.0, 1.0);
          double dot = 0;
          for (int64_t d = 0; d < s.d; ++d)
            dot += q[((b * s.hq + h) * s.n + i) * s.d + d] *
                   key[((b * s.hkv + g) * s.m + j) * s.d + d];
          switch (gate) {
          case ref::Gate::KV:
            l[j] = scale * w[j] * dot;
            break;
          case ref::Gate::Logit:
            l[j] = scale * dot + std::log(w[j]);
            break;
          default:
            l[j] = scale * dot;
          }
        }
        double mx = kNegInf;
        for (int64_t j = 0; j < s.m; ++j)
          if (in[j])
            mx = std::max(mx, l[j]);
        if (mx == kNegInf)
          continue;
        double den = 0;
        for (int64_t j = 0; j < s.m; ++j)
          if (in[j])
            den += std::exp(l[j] - mx);
        for (int64_t j = 0; j < s.m; ++j) {
          if (!in[j])
            continue;
          double p = std::exp(l[j] - mx) / den;
          if (gate == ref::Gate::KV || gate == ref::Gate::V)
            p *= w[j];
          for (int64_t d = 0; d < s.dv; ++d)
            out[((b * s.hq + h) * s.n + i) * s.dv + d] +=
                p * value[((b * s.hkv + g) * s.m + j) * s.dv + d];
        }
      }
    }
  return out;
}

/// Uniform random values in [lo, hi).
inline std::vector<double> uniform(std::mt19937_64 &rng, size_t n,
                                   double lo = -1, double hi = 1) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double &x : v)
    x = dist(rng);
  return v;
}

/// Scores with many ties: small integers, scaled so that entries one apart
/// sit exactly on each other's cap breakpoints.
inline std::vector<double> tied(std::mt19937_64 &rng, size_t n, int levels) {
  std::uniform_int_distribution<int> dist(0, levels - 1);
  std::vector<double> v(n);
  for (double &x : v)
    x = 0.5 * dist(rng);
  return v;
}

inline double maxAbsDiff(const std::vector<double> &a,
                         const std::vector<double> &b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

} // namespace sparsek::brute

#endif // SPARSEK_UNITTESTS_REFERENCE_BRUTEFORCE_H
