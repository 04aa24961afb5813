//===- DecodeTest.cpp - Semantics 10 against the whole-sequence layer -----===//
//
// Decoding token by token with DecodeRow gives, at every step, exactly what
// ref::attention gives the last query over the whole history, for every
// gate, GQA groups, w = 0, k beyond the length, ties, flat and -inf scores,
// while holding keys and values of at most k + w tokens.
//
//===----------------------------------------------------------------------===//

#include "BruteForce.h"

#include <gtest/gtest.h>

using namespace sparsek;

namespace {

const ref::Gate kGates[] = {ref::Gate::KV, ref::Gate::V, ref::Gate::Logit,
                            ref::Gate::None};

TEST(Decode, EveryStepMatchesTheWholeSequence) {
  std::mt19937_64 rng(31);
  int overflowFree = 0;
  for (int trial = 0; trial < 120; ++trial) {
    int64_t group = 1 << (trial % 4), d = 1 + trial % 5, dv = 1 + trial % 3;
    int64_t t = 1 + rng() % 40, k = 1 + rng() % 6;
    int64_t w = trial % 5 == 0 ? 0 : 1 + rng() % 6;
    if (trial % 11 == 0)
      k = t + 3; // k beyond the length
    ref::Gate gate = kGates[trial % 4];
    std::vector<double> q = brute::uniform(rng, group * t * d);
    std::vector<double> key = brute::uniform(rng, t * d);
    std::vector<double> value = brute::uniform(rng, t * dv);
    std::vector<double> u = trial % 3 == 0 ? brute::tied(rng, t, 3)
                                           : brute::uniform(rng, t, -2, 2);
    if (trial % 7 == 0)
      for (double &x : u)
        if (rng() % 3 == 0)
          x = ref::kNegInf;
    if (trial % 13 == 0)
      std::fill(u.begin(), u.end(), 0.25); // flat: the band holds everything
    ref::DecodeRow row(k, w, /*bandCapacity=*/t, d, dv);
    double scale = 0.6;
    for (int64_t p = 0; p < t; ++p) {
      // q of the group's heads at position p: [group, d].
      std::vector<double> qp(group * d);
      for (int64_t h = 0; h < group; ++h)
        for (int64_t c = 0; c < d; ++c)
          qp[h * d + c] = q[(h * t + p) * d + c];
      std::vector<double> got = row.step(qp.data(), group, &key[p * d],
                                         &value[p * dv], u[p], scale, gate);
      // The whole-sequence layer's last query at position p.
      ref::AttentionShape s{1, group, 1, 1, p + 1, d, dv};
      std::vector<double> qlast = qp;
      std::vector<double> kk(key.begin(), key.begin() + (p + 1) * d),
          vv(value.begin(), value.begin() + (p + 1) * dv),
          uu(u.begin(), u.begin() + p + 1);
      std::vector<double> want =
          ref::attention(s, qlast, kk, vv, uu, k, w, true, scale, gate);
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-12)
            << "trial " << trial << " step " << p << " out " << i;
      std::vector<double> tau = ref::thresholds(uu, 1, 1, p + 1, 1, k, w);
      EXPECT_EQ(row.tau(), tau[0]) << "trial " << trial << " step " << p;
      EXPECT_LE(row.keysHeld(), k + w);
    }
    EXPECT_FALSE(row.overflowed());
    ++overflowFree;
  }
  EXPECT_EQ(overflowFree, 120);
}

/// A band of capacity C on flat scores overflows, says so, and the
/// threshold it then gives is a lower bound of the exact one.
TEST(Decode, BandOverflowIsRecordedAndGivesALowerBound) {
  std::mt19937_64 rng(32);
  int64_t t = 60, k = 4, w = 2, d = 3;
  std::vector<double> u = brute::uniform(rng, t, 0.0, 0.5); // one wide band
  std::vector<double> q = brute::uniform(rng, d), key = brute::uniform(rng, t * d),
                      value = brute::uniform(rng, t * d);
  ref::DecodeRow row(k, w, /*bandCapacity=*/3, d, d);
  bool sawOverflow = false;
  for (int64_t p = 0; p < t; ++p) {
    row.step(q.data(), 1, &key[p * d], &value[p * d], u[p], 1.0,
             ref::Gate::KV);
    std::vector<double> uu(u.begin(), u.begin() + p + 1);
    double exact = ref::thresholds(uu, 1, 1, p + 1, 1, k, w)[0];
    EXPECT_LE(row.tau(), exact + 1e-12) << "step " << p;
    EXPECT_LE(row.bandSize(), 3);
    sawOverflow |= row.overflowed();
  }
  EXPECT_TRUE(sawOverflow);
}

/// A prefill over a prompt of any length builds the state the steps would
/// have built: the steps that follow give the same outputs and thresholds
/// as decoding the prompt token by token.
TEST(Decode, PrefillThenStepsMatchesStepsFromEmpty) {
  std::mt19937_64 rng(33);
  for (int trial = 0; trial < 60; ++trial) {
    int64_t group = 1 << (trial % 3), d = 1 + trial % 4, dv = 1 + trial % 3;
    int64_t prompt = rng() % 30, t = prompt + 1 + rng() % 12;
    int64_t k = 1 + rng() % 5, w = trial % 4 == 0 ? 0 : 1 + rng() % 5;
    ref::Gate gate = kGates[trial % 4];
    std::vector<double> q = brute::uniform(rng, group * d),
                        key = brute::uniform(rng, t * d),
                        value = brute::uniform(rng, t * dv);
    std::vector<double> u = trial % 3 == 0 ? brute::tied(rng, t, 3)
                                           : brute::uniform(rng, t, -2, 2);
    if (trial % 5 == 0)
      for (double &x : u)
        if (rng() % 3 == 0)
          x = ref::kNegInf;
    ref::DecodeRow stepped(k, w, t, d, dv), filled(k, w, t, d, dv);
    for (int64_t p = 0; p < prompt; ++p)
      stepped.step(q.data(), group, &key[p * d], &value[p * dv], u[p], 0.7,
                   gate);
    filled.prefill(key.data(), value.data(), u.data(), prompt);
    EXPECT_EQ(filled.length(), prompt);
    EXPECT_EQ(filled.tau(), stepped.tau()) << "trial " << trial;
    EXPECT_EQ(filled.bandSize(), stepped.bandSize()) << "trial " << trial;
    for (int64_t p = prompt; p < t; ++p) {
      std::vector<double> a = stepped.step(q.data(), group, &key[p * d],
                                           &value[p * dv], u[p], 0.7, gate);
      std::vector<double> b = filled.step(q.data(), group, &key[p * d],
                                          &value[p * dv], u[p], 0.7, gate);
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_NEAR(a[i], b[i], 1e-12) << "trial " << trial << " step " << p;
      EXPECT_EQ(filled.tau(), stepped.tau());
    }
  }
}

/// A prefill whose band would exceed its capacity keeps the highest scores,
/// says so, and its threshold is still exact at the prompt's end.
TEST(Decode, PrefillOverflowKeepsTheExactThreshold) {
  std::mt19937_64 rng(34);
  int64_t n = 50, k = 4, w = 3, d = 2;
  std::vector<double> u = brute::uniform(rng, n, 0.0, 0.5);
  std::vector<double> key = brute::uniform(rng, n * d),
                      value = brute::uniform(rng, n * d);
  ref::DecodeRow row(k, w, /*bandCapacity=*/5, d, d);
  row.prefill(key.data(), value.data(), u.data(), n);
  EXPECT_TRUE(row.overflowed());
  EXPECT_EQ(row.bandSize(), 5);
  EXPECT_EQ(row.tau(), ref::thresholds(u, 1, 1, n, 1, k, w)[0]);
}

} // namespace
