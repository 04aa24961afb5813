//===- SelectionTest.cpp - SPEC 3 and 4 against their definitions ---------===//

#include "BruteForce.h"

#include <gtest/gtest.h>

#include <chrono>

using namespace sparsek;

namespace {

struct Case {
  int64_t m, n, k, window;
};

/// Random shapes covering w = 0, w >= M, N = 1 < M, k >= M.
Case randomCase(std::mt19937_64 &rng) {
  Case c;
  c.m = 1 + rng() % 70;
  c.n = rng() % 4 == 0 ? 1 : 1 + rng() % c.m;
  int64_t ks[] = {1, 2, 3, 8, c.m, c.m + 5};
  c.k = ks[rng() % 6];
  int64_t ws[] = {0, 1, 2, 16, c.m, c.m + 3};
  c.window = ws[rng() % 6];
  return c;
}

/// Odd trials: uniform scores; even trials: few levels, many ties.
std::vector<double> randomScores(std::mt19937_64 &rng, int64_t m, int trial) {
  return trial % 2 ? brute::uniform(rng, m, -3, 3)
                   : brute::tied(rng, m, 2 + trial % 5);
}

TEST(CausalThresholds, MatchBisectionAndNeverDecrease) {
  std::mt19937_64 rng(10);
  for (int trial = 0; trial < 3000; ++trial) {
    Case c = randomCase(rng);
    std::vector<double> u = randomScores(rng, c.m, trial);
    std::vector<double> tau =
        ref::causalThresholds(u.data(), c.m, c.n, c.k, c.window);
    for (int64_t i = 0; i < c.n; ++i) {
      double want = brute::causalTau(u, i, c.m, c.n, c.k, c.window);
      if (want == ref::kNegInf) {
        ASSERT_EQ(tau[i], ref::kNegInf);
      } else {
        ASSERT_NEAR(tau[i], want, 1e-9)
            << "m=" << c.m << " n=" << c.n << " k=" << c.k
            << " w=" << c.window << " i=" << i;
      }
      if (i > 0) {
        EXPECT_GE(tau[i], tau[i - 1]);
      }
    }
  }
}

TEST(CausalTopK, MatchesFullSortAndHasPositiveWeights) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 3000; ++trial) {
    Case c = randomCase(rng);
    std::vector<double> u = randomScores(rng, c.m, trial);
    std::vector<int32_t> idx =
        ref::causalTopK(u.data(), c.m, c.n, c.k, c.window);
    std::vector<double> tau =
        ref::causalThresholds(u.data(), c.m, c.n, c.k, c.window);
    for (int64_t i = 0; i < c.n; ++i) {
      std::vector<int32_t> want = brute::selection(
          u, brute::candidates(i, c.m, c.n, c.window), c.k);
      std::vector<int32_t> got(idx.begin() + i * c.k,
                               idx.begin() + (i + 1) * c.k);
      ASSERT_EQ(got, want) << "m=" << c.m << " n=" << c.n << " k=" << c.k
                           << " w=" << c.window << " i=" << i;
      for (int32_t j : got) {
        if (j >= 0) {
          EXPECT_GT(u[j], tau[i]) << "selected key without positive weight";
        }
      }
    }
  }
}

TEST(CausalTopK, ConsecutiveQueriesDifferByAtMostOneKey) {
  std::mt19937_64 rng(12);
  int64_t m = 500, k = 16;
  std::vector<double> u = brute::uniform(rng, m);
  std::vector<int32_t> idx = ref::causalTopK(u.data(), m, m, k, 8);
  for (int64_t i = 1; i < m; ++i) {
    std::vector<int32_t> a(idx.begin() + (i - 1) * k, idx.begin() + i * k);
    std::vector<int32_t> b(idx.begin() + i * k, idx.begin() + (i + 1) * k);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::vector<int32_t> diff;
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(),
                        std::back_inserter(diff));
    EXPECT_LE(diff.size(), 1u);
  }
}

TEST(CausalSelection, LargeInputsRunInLinearithmicTime) {
  // A quadratic algorithm needs ~10^11 steps here (minutes); the linear
  // ones take well under a second (a few under sanitizers). The bound
  // fails the quadratic one with a wide margin either way.
  std::mt19937_64 rng(13);
  int64_t m = 1 << 19, k = 64, w = 128;
  std::vector<double> u = brute::uniform(rng, m);
  auto start = std::chrono::steady_clock::now();
  std::vector<double> tau = ref::causalThresholds(u.data(), m, m, k, w);
  std::vector<int32_t> idx = ref::causalTopK(u.data(), m, m, k, w);
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  EXPECT_LT(seconds, 20.0) << "thresholds and top-k of one row of 2^19 keys";
  EXPECT_TRUE(std::is_sorted(tau.begin(), tau.end()));
  // Spot-check the last query against the definition.
  EXPECT_NEAR(tau[m - 1], brute::causalTau(u, m - 1, m, m, k, w), 1e-9);
}

TEST(Batched, RowsAreIndependent) {
  std::mt19937_64 rng(14);
  int64_t b = 2, h = 3, m = 20, n = 11, k = 4, w = 3;
  std::vector<double> u = brute::uniform(rng, b * h * m);
  std::vector<double> tau = ref::thresholds(u, b, h, m, n, k, w);
  std::vector<int32_t> idx = ref::topk(u, b, h, m, n, k, w);
  for (int64_t r = 0; r < b * h; ++r) {
    std::vector<double> t = ref::causalThresholds(&u[r * m], m, n, k, w);
    std::vector<int32_t> s = ref::causalTopK(&u[r * m], m, n, k, w);
    EXPECT_TRUE(std::equal(t.begin(), t.end(), tau.begin() + r * n));
    EXPECT_TRUE(std::equal(s.begin(), s.end(), idx.begin() + r * n * k));
  }
}

} // namespace

namespace {

/// Scores far apart in magnitude: running sums of them cancel (1e30 - 1e30
/// leaves nothing of 0.5), so thresholds must not be formed from such sums.
TEST(CausalThresholds, ExactForHugeScores) {
  // The last query sees {1e30, -1e30, 1e30, 0.5} with k = 2: tau = 0.5.
  std::vector<double> u = {1e30, -1e30, 1e30, 0.5};
  std::vector<double> tau = ref::causalThresholds(u.data(), 4, 4, 2, 0);
  EXPECT_EQ(tau[3], 0.5);
  std::mt19937_64 rng(14);
  const double scales[] = {1e30, 3e38, 1e10, 1.0};
  for (int trial = 0; trial < 2000; ++trial) {
    int64_t m = 1 + rng() % 40, k = 1 + rng() % 6;
    std::vector<double> z(m);
    for (double &v : z) {
      double s = scales[rng() % 4];
      v = static_cast<float>(s * brute::uniform(rng, 1, -1, 1)[0]);
      if (rng() % 4 == 0)
        v = static_cast<float>(brute::uniform(rng, 1, -2, 2)[0]);
    }
    std::vector<double> got = ref::causalThresholds(z.data(), m, m, k, 0);
    for (int64_t i = 0; i < m; ++i) {
      double want = brute::causalTau(z, i, m, m, k, 0);
      if (want == ref::kNegInf)
        ASSERT_EQ(got[i], ref::kNegInf);
      else
        ASSERT_NEAR(got[i], want, 1e-12 * (1 + std::abs(want)))
            << "trial " << trial << " i " << i;
    }
  }
}

/// -inf scores never count toward k: tau stays -inf while at most k
/// candidates are above -inf; they may still be selected.
TEST(CausalThresholds, MinusInfinityScoresNeverCount) {
  std::vector<double> u = {ref::kNegInf, 3.0, ref::kNegInf, 1.0, 0.25};
  std::vector<double> tau = ref::causalThresholds(u.data(), 5, 5, 2, 0);
  EXPECT_EQ(tau[3], ref::kNegInf); // {-inf, 3, -inf, 1}: two above -inf
  EXPECT_NEAR(tau[4], brute::tau({3.0, 1.0, 0.25}, 2), 1e-12);
  std::vector<int32_t> idx = ref::causalTopK(u.data(), 5, 5, 2, 0);
  EXPECT_EQ(idx[0 * 2 + 0], 0); // the only candidate, -inf, is selected
  EXPECT_EQ(idx[2 * 2 + 1], 2); // ties between -inf go to the newer key
  std::mt19937_64 rng(15);
  for (int trial = 0; trial < 2000; ++trial) {
    int64_t m = 1 + rng() % 30, k = 1 + rng() % 5;
    std::vector<double> z = brute::tied(rng, m, 1 + trial % 4);
    for (double &v : z)
      if (rng() % 3 == 0)
        v = ref::kNegInf;
    std::vector<double> got = ref::causalThresholds(z.data(), m, m, k, 0);
    for (int64_t i = 0; i < m; ++i) {
      double want = brute::causalTau(z, i, m, m, k, 0);
      if (want == ref::kNegInf)
        ASSERT_EQ(got[i], ref::kNegInf) << "trial " << trial << " i " << i;
      else
        ASSERT_NEAR(got[i], want, 1e-9) << "trial " << trial << " i " << i;
    }
  }
}

} // namespace

namespace {

/// Block selection against its definition: per query, the k-th best
/// candidate from a full sort and tau from the causal thresholds; the
/// membership test (u_j, j) >= kth reproduces S_i exactly; per block, the
/// union of the queries' S_i, each key once, ascending, within
/// k + blockSize - 1.
TEST(BlockSelect, MatchesTheDefinition) {
  std::mt19937_64 rng(16);
  for (int trial = 0; trial < 1500; ++trial) {
    Case c = randomCase(rng);
    int64_t bq = 1 + rng() % 9;
    std::vector<double> u = randomScores(rng, c.m, trial);
    ref::BlockSelection bs =
        ref::blockSelect(u.data(), c.m, c.n, c.k, c.window, bq);
    std::vector<double> tau =
        ref::causalThresholds(u.data(), c.m, c.n, c.k, c.window);
    int64_t width = c.k + bq - 1, blocks = (c.n + bq - 1) / bq;
    ASSERT_EQ(static_cast<int64_t>(bs.unionIndices.size()), blocks * width);
    std::vector<std::set<int32_t>> unions(blocks);
    for (int64_t i = 0; i < c.n; ++i) {
      std::vector<int64_t> cands = brute::candidates(i, c.m, c.n, c.window);
      std::vector<int32_t> sel = brute::selection(u, cands, c.k);
      EXPECT_EQ(bs.tau[i], tau[i]);
      if (static_cast<int64_t>(cands.size()) < c.k) {
        EXPECT_EQ(bs.kthIndex[i], -1);
        EXPECT_EQ(bs.kthScore[i], ref::kNegInf);
      } else {
        ASSERT_EQ(bs.kthIndex[i], sel[c.k - 1]) << "trial " << trial;
        EXPECT_EQ(bs.kthScore[i], u[sel[c.k - 1]]);
      }
      // Membership by the test the fused kernel uses.
      std::set<int32_t> want;
      for (int32_t j : sel)
        if (j >= 0)
          want.insert(j);
      std::set<int32_t> got;
      for (int64_t j : cands) {
        std::pair<double, int64_t> key(u[j], j), kth(bs.kthScore[i],
                                                      bs.kthIndex[i]);
        if (key >= kth)
          got.insert(static_cast<int32_t>(j));
      }
      ASSERT_EQ(got, want) << "trial " << trial << " query " << i;
      unions[i / bq].insert(want.begin(), want.end());
    }
    for (int64_t b = 0; b < blocks; ++b) {
      const int32_t *row = &bs.unionIndices[b * width];
      std::vector<int32_t> list(row, row + bs.unionCount[b]);
      EXPECT_TRUE(std::is_sorted(list.begin(), list.end()));
      EXPECT_EQ(std::set<int32_t>(list.begin(), list.end()), unions[b])
          << "trial " << trial << " block " << b;
      for (int64_t e = bs.unionCount[b]; e < width; ++e)
        EXPECT_EQ(row[e], -1);
    }
  }
}

} // namespace
