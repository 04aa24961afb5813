//===- SparseKTest.cpp - SPEC 1 and 2 against their definitions -----------===//

#include "BruteForce.h"

#include <gtest/gtest.h>

using namespace sparsek;

namespace {

/// Sparsemax by its own algorithm (Martins & Astudillo 2016): sort, find
/// the support size, threshold. Independent of the capped-simplex sweep.
std::vector<double> sparsemax(std::vector<double> z) {
  std::vector<double> s = z;
  std::sort(s.begin(), s.end(), std::greater<double>());
  double cum = 0, tau = 0;
  for (size_t r = 0; r < s.size(); ++r) {
    cum += s[r];
    if (1 + (r + 1) * s[r] > cum)
      tau = (cum - 1) / static_cast<double>(r + 1);
  }
  for (double &v : z)
    v = std::max(v - tau, 0.0);
  return z;
}

void expectProperties(const std::vector<double> &p, int64_t k, double tau) {
  double sum = 0;
  for (double v : p) {
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
    sum += v;
  }
  if (tau == ref::kNegInf)
    EXPECT_EQ(sum, static_cast<double>(p.size()));
  else
    EXPECT_NEAR(sum, static_cast<double>(k), 1e-9 * (1 + k));
}

TEST(SparseK, MatchesBisectionOnRandomInputs) {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 4000; ++trial) {
    int64_t n = 1 + rng() % 60;
    int64_t k = 1 + rng() % (n + 2);
    double spread = trial % 3 == 0 ? 0.2 : trial % 3 == 1 ? 3.0 : 50.0;
    std::vector<double> z = brute::uniform(rng, n, -spread, spread);
    std::vector<double> p(n);
    double tau = ref::sparsek(z.data(), n, k, p.data());
    double want = brute::tau(z, k);
    if (n <= k) {
      EXPECT_EQ(tau, ref::kNegInf);
    } else {
      ASSERT_NEAR(tau, want, 1e-9 * (1 + std::abs(want)))
          << "n=" << n << " k=" << k << " trial=" << trial;
    }
    expectProperties(p, k, tau);
  }
}

TEST(SparseK, TiesAndFlatRegionsTakeTheSmallestTau) {
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 3000; ++trial) {
    int64_t n = 1 + rng() % 40;
    int64_t k = 1 + rng() % (n + 1);
    std::vector<double> z = brute::tied(rng, n, 1 + trial % 6);
    std::vector<double> p(n);
    double tau = ref::sparsek(z.data(), n, k, p.data());
    if (n <= k) {
      EXPECT_EQ(tau, ref::kNegInf);
      continue;
    }
    double want = brute::tau(z, k);
    ASSERT_NEAR(tau, want, 1e-9) << "n=" << n << " k=" << k;
    // The solution is the smallest: just below it the sum exceeds k.
    EXPECT_GT(brute::capSum(z, tau - 1e-6), static_cast<double>(k) + 1e-12);
    expectProperties(p, k, tau);
  }
}

TEST(SparseK, FlatRegionExample) {
  // z = (3, 1, 0), k = 1: sum clip(z - t, 0, 1) = 1 for every t in [1, 2];
  // the smallest solution is 1.
  std::vector<double> z = {3, 1, 0};
  std::vector<double> p(3);
  EXPECT_DOUBLE_EQ(ref::sparsek(z.data(), 3, 1, p.data()), 1.0);
  EXPECT_EQ(p, (std::vector<double>{1, 0, 0}));
  // Two entries capped, none fractional: z = (5, 5, 1, 0), k = 2 -> tau = 1.
  z = {5, 5, 1, 0};
  p.resize(4);
  EXPECT_DOUBLE_EQ(ref::sparsek(z.data(), 4, 2, p.data()), 1.0);
  EXPECT_EQ(p, (std::vector<double>{1, 1, 0, 0}));
}

TEST(SparseK, NoMoreEntriesThanKSelectsAll) {
  std::vector<double> z = {0.3, -7, 2};
  for (int64_t k = 3; k < 6; ++k) {
    std::vector<double> p(3, -1);
    EXPECT_EQ(ref::sparsek(z.data(), 3, k, p.data()), ref::kNegInf);
    EXPECT_EQ(p, (std::vector<double>{1, 1, 1}));
  }
}

TEST(SparseK, KEqualsOneIsSparsemax) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 2000; ++trial) {
    int64_t n = 2 + rng() % 50;
    std::vector<double> z = brute::uniform(rng, n, -2, 2);
    std::vector<double> p(n);
    ref::sparsek(z.data(), n, 1, p.data());
    EXPECT_LT(brute::maxAbsDiff(p, sparsemax(z)), 1e-12);
  }
}

TEST(SparseK, RowsApplyAlongTheLastDim) {
  std::mt19937_64 rng(4);
  std::vector<double> z = brute::uniform(rng, 5 * 9, -2, 2);
  std::vector<double> p, tau;
  ref::sparsekRows(z, 5, 9, 3, p, tau);
  ASSERT_EQ(tau.size(), 5u);
  for (int r = 0; r < 5; ++r) {
    std::vector<double> row(z.begin() + r * 9, z.begin() + (r + 1) * 9);
    EXPECT_NEAR(tau[r], brute::tau(row, 3), 1e-9);
  }
}

TEST(SparseK, GradientMatchesFiniteDifferences) {
  std::mt19937_64 rng(5);
  int checked = 0;
  for (int trial = 0; trial < 500; ++trial) {
    int64_t n = 2 + rng() % 30;
    int64_t k = 1 + rng() % (n - 1);
    std::vector<double> z = brute::uniform(rng, n, -2, 2);
    std::vector<double> g = brute::uniform(rng, n, -1, 1);
    std::vector<double> p(n);
    double tau = ref::sparsek(z.data(), n, k, p.data());
    // Finite differences are only valid away from the kinks.
    bool nearKink = false;
    for (double v : z)
      nearKink |= std::abs(v - tau) < 1e-4 || std::abs(v - tau - 1) < 1e-4;
    if (nearKink)
      continue;
    std::vector<double> dz = ref::sparsekGradient(p, g);
    const double eps = 1e-6;
    for (int64_t j = 0; j < n; ++j) {
      std::vector<double> zp = z, zm = z, pp(n), pm(n);
      zp[j] += eps;
      zm[j] -= eps;
      ref::sparsek(zp.data(), n, k, pp.data());
      ref::sparsek(zm.data(), n, k, pm.data());
      double fd = 0;
      for (int64_t l = 0; l < n; ++l)
        fd += g[l] * (pp[l] - pm[l]) / (2 * eps);
      EXPECT_NEAR(dz[j], fd, 1e-6) << "trial " << trial << " j " << j;
    }
    ++checked;
  }
  EXPECT_GT(checked, 200);
}

TEST(Score, MatchesTheDefinition) {
  std::mt19937_64 rng(6);
  int64_t b = 2, m = 7, c = 5, h = 3;
  std::vector<double> x = brute::uniform(rng, b * m * c);
  std::vector<double> w = brute::uniform(rng, h * c);
  std::vector<double> bias = brute::uniform(rng, h);
  for (bool withBias : {true, false}) {
    std::vector<double> u = ref::score(x, w, withBias ? bias : std::vector<double>{},
                                       b, m, c, h, 0.25);
    for (int64_t bb = 0; bb < b; ++bb)
      for (int64_t hh = 0; hh < h; ++hh)
        for (int64_t j = 0; j < m; ++j) {
          double want = 0.25 * j + (withBias ? bias[hh] : 0.0);
          for (int64_t cc = 0; cc < c; ++cc)
            want += x[(bb * m + j) * c + cc] * w[hh * c + cc];
          EXPECT_NEAR(u[(bb * h + hh) * m + j], want, 1e-12);
        }
  }
}

} // namespace
