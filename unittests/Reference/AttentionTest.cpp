//===- AttentionTest.cpp - SPEC 5 and 6 against their definitions ---------===//

#include "BruteForce.h"

#include <gtest/gtest.h>

using namespace sparsek;

namespace {

const ref::Gate kGates[] = {ref::Gate::KV, ref::Gate::V, ref::Gate::Logit,
                            ref::Gate::None};

struct Inputs {
  ref::AttentionShape s;
  std::vector<double> q, key, value, u;
};

Inputs randomInputs(std::mt19937_64 &rng, ref::AttentionShape s, bool ties) {
  Inputs in{s, {}, {}, {}, {}};
  in.q = brute::uniform(rng, s.batch * s.hq * s.n * s.d);
  in.key = brute::uniform(rng, s.batch * s.hkv * s.m * s.d);
  in.value = brute::uniform(rng, s.batch * s.hkv * s.m * s.dv);
  in.u = ties ? brute::tied(rng, s.batch * s.hkv * s.m, 4)
              : brute::uniform(rng, s.batch * s.hkv * s.m, -2, 2);
  return in;
}

ref::AttentionShape randomShape(std::mt19937_64 &rng) {
  const int64_t groups[][2] = {{2, 2}, {4, 1}, {8, 2}, {1, 1}, {8, 1}};
  const int64_t *g = groups[rng() % 5];
  ref::AttentionShape s;
  s.batch = 1 + rng() % 2;
  s.hq = g[0];
  s.hkv = g[1];
  s.m = 1 + rng() % 40;
  s.n = rng() % 4 == 0 ? 1 : 1 + rng() % s.m;
  s.d = 1 + rng() % 9;
  s.dv = rng() % 2 ? s.d : 1 + rng() % 7;
  return s;
}

TEST(Attention, CausalLayerMatchesDefinition) {
  std::mt19937_64 rng(20);
  for (int trial = 0; trial < 1500; ++trial) {
    ref::AttentionShape s = randomShape(rng);
    Inputs in = randomInputs(rng, s, trial % 3 == 0);
    int64_t ks[] = {1, 3, s.m, s.m + 2};
    int64_t ws[] = {0, 1, 4, s.m};
    int64_t k = ks[rng() % 4], w = ws[rng() % 4];
    ref::Gate gate = kGates[trial % 4];
    double scale = 1.0 / std::sqrt(static_cast<double>(s.d));
    std::vector<double> got = ref::attention(s, in.q, in.key, in.value, in.u,
                                             k, w, true, scale, gate);
    auto sel = [&](int64_t b, int64_t g, int64_t i) {
      return brute::selection(
          std::vector<double>(in.u.begin() + (b * s.hkv + g) * s.m,
                              in.u.begin() + (b * s.hkv + g + 1) * s.m),
          brute::candidates(i, s.m, s.n, w), k);
    };
    auto tau = [&](int64_t b, int64_t g, int64_t i) {
      return brute::causalTau(
          std::vector<double>(in.u.begin() + (b * s.hkv + g) * s.m,
                              in.u.begin() + (b * s.hkv + g + 1) * s.m),
          i, s.m, s.n, k, w);
    };
    std::vector<double> want = brute::attention(s, in.q, in.key, in.value,
                                                in.u, w, scale, gate, sel, tau);
    ASSERT_LT(brute::maxAbsDiff(got, want), 1e-9)
        << "trial " << trial << " m=" << s.m << " n=" << s.n << " k=" << k
        << " w=" << w << " gate=" << static_cast<int>(gate);
  }
}

TEST(Attention, NonCausalLayerSharesOneSelection) {
  std::mt19937_64 rng(21);
  for (int trial = 0; trial < 600; ++trial) {
    ref::AttentionShape s = randomShape(rng);
    Inputs in = randomInputs(rng, s, trial % 3 == 0);
    int64_t k = 1 + rng() % (s.m + 2);
    ref::Gate gate = kGates[trial % 4];
    std::vector<double> got = ref::attention(s, in.q, in.key, in.value, in.u,
                                             k, 0, false, 0.7, gate);
    auto row = [&](int64_t b, int64_t g) {
      return std::vector<double>(in.u.begin() + (b * s.hkv + g) * s.m,
                                 in.u.begin() + (b * s.hkv + g + 1) * s.m);
    };
    std::vector<int64_t> all(s.m);
    std::iota(all.begin(), all.end(), 0);
    auto sel = [&](int64_t b, int64_t g, int64_t) {
      return brute::selection(row(b, g), all, k);
    };
    auto tau = [&](int64_t b, int64_t g, int64_t) {
      return brute::tau(row(b, g), k);
    };
    std::vector<double> want = brute::attention(
        s, in.q, in.key, in.value, in.u, 0, 0.7, gate, sel, tau);
    ASSERT_LT(brute::maxAbsDiff(got, want), 1e-9) << "trial " << trial;
  }
}

TEST(Attention, AllGatesAgreeWhenEveryCandidateIsSelected) {
  // k >= M: every threshold is -inf, every weight 1; the gates coincide
  // (the basis of the AttentionUngate canonicalization).
  std::mt19937_64 rng(22);
  ref::AttentionShape s{2, 4, 2, 9, 13, 8, 5};
  Inputs in = randomInputs(rng, s, false);
  std::vector<double> none = ref::attention(s, in.q, in.key, in.value, in.u,
                                            13, 3, true, 0.3, ref::Gate::None);
  for (ref::Gate g : kGates)
    EXPECT_LT(brute::maxAbsDiff(ref::attention(s, in.q, in.key, in.value,
                                               in.u, 13, 3, true, 0.3, g),
                                none),
              1e-12);
}

TEST(GatheredAttention, IgnoresPaddingOutOfRangeAndWindowOverlap) {
  std::mt19937_64 rng(23);
  ref::AttentionShape s{1, 2, 1, 3, 6, 4, 4};
  Inputs in = randomInputs(rng, s, false);
  std::vector<double> tau = {-0.5, -0.5, -0.5};
  int64_t k = 4;
  // Window 1: query i (position i + 3) sees only itself in the window, so
  // entries 3, 4, 5 of rows 0, 1, 2 repeat their window key.
  std::vector<int32_t> clean = {1, 0, -1, -1, 1, 0, -1, -1, 1, 0, -1, -1};
  std::vector<int32_t> noisy = {1, 3, 0, 99, 1, 0, -7, 4, 5, 1, 0, 1000};
  for (ref::Gate g : kGates) {
    std::vector<double> a = ref::gatheredAttention(
        s, in.q, in.key, in.value, in.u, clean, k, tau, 1, 0.5, g);
    std::vector<double> b = ref::gatheredAttention(
        s, in.q, in.key, in.value, in.u, noisy, k, tau, 1, 0.5, g);
    // The same key sets in another order: equal up to summation order.
    EXPECT_LT(brute::maxAbsDiff(a, b), 1e-14);
  }
}

TEST(GatheredAttention, QueryWithNothingToAttendToIsZero) {
  std::mt19937_64 rng(24);
  ref::AttentionShape s{1, 1, 1, 2, 4, 3, 3};
  Inputs in = randomInputs(rng, s, false);
  std::vector<int32_t> idx = {-1, -1, -1, -1};
  std::vector<double> tau = {0, 0};
  std::vector<double> out = ref::gatheredAttention(
      s, in.q, in.key, in.value, in.u, idx, 2, tau, 0, 1.0, ref::Gate::KV);
  EXPECT_EQ(out, std::vector<double>(6, 0.0));
}

} // namespace
