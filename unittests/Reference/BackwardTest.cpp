//===- BackwardTest.cpp - Semantics 9 against finite differences ----------===//
//
// L = sum(out * dout) for random dout; every gradient of the reference
// backward against central differences of the reference forward, for all
// four gates, GQA groups 1/2/4/8, N < M, non-causal, and scores spread
// narrowly enough that the SPARSEK mask's fractional set reaches beyond the
// top k. Finite differences hold where the selection and the mask's pieces
// do not change under the step: trials with a score near a kink (u - tau
// near 0 or 1, or a tie at the k-th place) are skipped.
//
//===----------------------------------------------------------------------===//

#include "BruteForce.h"

#include <gtest/gtest.h>

#include <set>

using namespace sparsek;

namespace {

const ref::Gate kGates[] = {ref::Gate::KV, ref::Gate::V, ref::Gate::Logit,
                            ref::Gate::None};

double loss(const ref::AttentionShape &s, const std::vector<double> &q,
            const std::vector<double> &key, const std::vector<double> &value,
            const std::vector<double> &u, const std::vector<double> &dout,
            int64_t k, int64_t w, bool causal, double scale, ref::Gate gate) {
  std::vector<double> out =
      ref::attention(s, q, key, value, u, k, w, causal, scale, gate);
  double l = 0;
  for (size_t i = 0; i < out.size(); ++i)
    l += out[i] * dout[i];
  return l;
}

/// No candidate of any query within `margin` of a kink of its mask, and no
/// two candidate scores within `margin` (ties would make the selection
/// jump).
bool awayFromKinks(const ref::AttentionShape &s, const std::vector<double> &u,
                   int64_t k, int64_t w, bool causal, double margin) {
  int64_t nSel = causal ? s.n : 1, ww = causal ? w : 0;
  std::vector<double> tau = ref::thresholds(u, s.batch, s.hkv, s.m, nSel, k, ww);
  for (int64_t r = 0; r < s.batch * s.hkv; ++r) {
    std::vector<double> sorted(u.begin() + r * s.m, u.begin() + (r + 1) * s.m);
    std::sort(sorted.begin(), sorted.end());
    for (size_t a = 1; a < sorted.size(); ++a)
      if (sorted[a] - sorted[a - 1] < margin)
        return false;
    for (int64_t i = 0; i < nSel; ++i) {
      double t = tau[r * nSel + i];
      if (t == ref::kNegInf)
        continue;
      for (int64_t l = 0; l < s.m; ++l) {
        double d = u[r * s.m + l] - t;
        if (std::abs(d) < margin || std::abs(d - 1) < margin)
          return false;
      }
    }
  }
  return true;
}

TEST(AttentionBackward, MatchesFiniteDifferences) {
  std::mt19937_64 rng(21);
  const int64_t groups[][2] = {{1, 1}, {2, 1}, {4, 1}, {8, 2}, {4, 2}};
  int checked = 0, fractionalBeyondTopK = 0;
  for (int trial = 0; trial < 400 && checked < 80; ++trial) {
    const int64_t *gr = groups[trial % 5];
    ref::AttentionShape s{1 + trial % 2, gr[0], gr[1], 0, 0, 1 + trial % 5,
                          1 + (trial / 3) % 4};
    s.m = 3 + rng() % 10;
    s.n = trial % 3 == 0 ? 1 + rng() % s.m : s.m;
    bool causal = trial % 7 != 3;
    int64_t k = 1 + rng() % 3, w = causal ? rng() % 3 : 0;
    ref::Gate gate = kGates[trial % 4];
    double spread = trial % 2 ? 0.4 : 2.0; // narrow: wide fractional sets
    std::vector<double> q = brute::uniform(rng, s.batch * s.hq * s.n * s.d);
    std::vector<double> key = brute::uniform(rng, s.batch * s.hkv * s.m * s.d);
    std::vector<double> value =
        brute::uniform(rng, s.batch * s.hkv * s.m * s.dv);
    std::vector<double> u =
        brute::uniform(rng, s.batch * s.hkv * s.m, -spread, spread);
    std::vector<double> dout = brute::uniform(rng, s.batch * s.hq * s.n * s.dv);
    const double eps = 1e-6, scale = 0.7;
    if (!awayFromKinks(s, u, k, w, causal, 1e-3))
      continue;
    ref::AttentionGrads g = ref::attentionBackward(s, q, key, value, u, dout, k,
                                                   w, causal, scale, gate);
    auto fd = [&](std::vector<double> &x, size_t i) {
      double keep = x[i];
      x[i] = keep + eps;
      double lp = loss(s, q, key, value, u, dout, k, w, causal, scale, gate);
      x[i] = keep - eps;
      double lm = loss(s, q, key, value, u, dout, k, w, causal, scale, gate);
      x[i] = keep;
      return (lp - lm) / (2 * eps);
    };
    auto expectAll = [&](std::vector<double> &x, const std::vector<double> &got,
                         const char *name) {
      for (size_t i = 0; i < x.size(); ++i)
        ASSERT_NEAR(got[i], fd(x, i), 1e-5)
            << name << "[" << i << "] trial " << trial;
    };
    expectAll(q, g.dq, "dq");
    expectAll(key, g.dkey, "dkey");
    expectAll(value, g.dvalue, "dvalue");
    expectAll(u, g.du, "du");
    // Count trials where a fractional candidate lies outside the top k.
    int64_t nSel = causal ? s.n : 1;
    std::vector<double> tau =
        ref::thresholds(u, s.batch, s.hkv, s.m, nSel, k, causal ? w : 0);
    std::vector<int32_t> idx =
        ref::topk(u, s.batch, s.hkv, s.m, nSel, k, causal ? w : 0);
    for (int64_t r = 0; r < s.batch * s.hkv; ++r)
      for (int64_t i = 0; i < nSel; ++i) {
        std::set<int32_t> top(idx.begin() + (r * nSel + i) * k,
                              idx.begin() + (r * nSel + i + 1) * k);
        int64_t pos = causal ? i + s.m - s.n : s.m - 1;
        int64_t c = std::clamp<int64_t>(pos - (causal ? w : 0) + 1, 0, s.m);
        for (int64_t l = 0; l < c; ++l) {
          double d = u[r * s.m + l] - tau[r * nSel + i];
          if (d > 0 && d < 1 && !top.count(static_cast<int32_t>(l)))
            ++fractionalBeyondTopK;
        }
      }
    ++checked;
  }
  EXPECT_GE(checked, 60);
  EXPECT_GT(fractionalBeyondTopK, 0);
}

/// Selection gets no gradient: with gate none and no fractional weight,
/// du is zero.
TEST(AttentionBackward, HardTopKGivesScoresNoGradient) {
  std::mt19937_64 rng(22);
  ref::AttentionShape s{1, 2, 1, 8, 8, 4, 4};
  std::vector<double> q = brute::uniform(rng, 1 * 2 * 8 * 4),
                      key = brute::uniform(rng, 8 * 4),
                      value = brute::uniform(rng, 8 * 4),
                      u = brute::uniform(rng, 8, -2, 2),
                      dout = brute::uniform(rng, 2 * 8 * 4);
  ref::AttentionGrads g = ref::attentionBackward(s, q, key, value, u, dout, 2,
                                                 2, true, 0.5, ref::Gate::None);
  for (double x : g.du)
    EXPECT_EQ(x, 0.0);
}

} // namespace
