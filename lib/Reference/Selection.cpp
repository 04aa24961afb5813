//===- Selection.cpp - SPEC 3 and 4: causal thresholds, top-k ---*- C++ -*-===//
//
// Query i's candidates are the prefix C_i = [0, p(i) - window] of its row,
// which grows by one key per query. Thresholds use PrefixThreshold
// (monotone pointer, O(m log m) per row); selection keeps the k best
// candidates so far in an ordered set (O(log k) per key, O(k) per query to
// write a row).
//
//===----------------------------------------------------------------------===//

#include "PrefixThreshold.h"
#include "sparsek/Reference/Reference.h"

#include <algorithm>
#include <set>
#include <utility>

namespace sparsek::ref {

namespace {
/// |C_i| for query i: p(i) - window + 1, clamped to [0, m].
int64_t candidateCount(int64_t i, int64_t m, int64_t n, int64_t window) {
  int64_t pos = i + m - n;
  return std::clamp<int64_t>(pos - window + 1, 0, m);
}
} // namespace

std::vector<double> causalThresholds(const double *u, int64_t m, int64_t n,
                                     int64_t k, int64_t window) {
  std::vector<double> tau(n, kNegInf);
  PrefixThreshold pt(u, m);
  int64_t inserted = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = candidateCount(i, m, n, window); inserted < c;)
      pt.insert(inserted++);
    tau[i] = pt.tau(k);
  }
  return tau;
}

std::vector<int32_t> causalTopK(const double *u, int64_t m, int64_t n,
                                int64_t k, int64_t window) {
  std::vector<int32_t> out(n * k, -1);
  // Ordered by (score, index): the smallest, evicted first, is the lowest
  // score and, among equal scores, the older key.
  std::set<std::pair<double, int32_t>> best;
  int64_t inserted = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = candidateCount(i, m, n, window); inserted < c;
         ++inserted) {
      best.emplace(u[inserted], static_cast<int32_t>(inserted));
      if (static_cast<int64_t>(best.size()) > k)
        best.erase(best.begin());
    }
    int32_t *row = out.data() + (i * k);
    for (auto it = best.rbegin(); it != best.rend(); ++it)
      *row++ = it->second;
  }
  return out;
}

BlockSelection blockSelect(const double *u, int64_t m, int64_t n, int64_t k,
                           int64_t window, int64_t blockSize) {
  BlockSelection r;
  r.tau = causalThresholds(u, m, n, k, window);
  r.kthScore.assign(n, kNegInf);
  r.kthIndex.assign(n, -1);
  int64_t blocks = (n + blockSize - 1) / blockSize, width = k + blockSize - 1;
  r.unionIndices.assign(blocks * width, -1);
  r.unionCount.assign(blocks, 0);
  std::set<std::pair<double, int32_t>> best;
  std::set<int32_t> blockUnion;
  std::vector<std::pair<double, int32_t>> newcomers;
  int64_t inserted = 0;
  for (int64_t i = 0; i < n; ++i) {
    newcomers.clear();
    for (int64_t c = candidateCount(i, m, n, window); inserted < c;
         ++inserted) {
      std::pair<double, int32_t> e(u[inserted], static_cast<int32_t>(inserted));
      best.insert(e);
      newcomers.push_back(e);
      if (static_cast<int64_t>(best.size()) > k)
        best.erase(best.begin());
    }
    // The block's union: S of its first query, then each later query's
    // newcomer if it is selected (later queries add at most one candidate
    // each, so the union holds at most k + blockSize - 1 keys).
    if (i % blockSize == 0) {
      blockUnion.clear();
      for (auto &e : best)
        blockUnion.insert(e.second);
    } else {
      for (auto &e : newcomers)
        if (best.count(e))
          blockUnion.insert(e.second);
    }
    if (static_cast<int64_t>(best.size()) == k) {
      r.kthScore[i] = best.begin()->first;
      r.kthIndex[i] = best.begin()->second;
    }
    if (i % blockSize == blockSize - 1 || i == n - 1) {
      int64_t b = i / blockSize, e = 0;
      for (int32_t j : blockUnion)
        r.unionIndices[b * width + e++] = j;
      r.unionCount[b] = static_cast<int32_t>(blockUnion.size());
    }
  }
  return r;
}

std::vector<double> thresholds(const std::vector<double> &u, int64_t batch,
                               int64_t heads, int64_t m, int64_t n, int64_t k,
                               int64_t window) {
  std::vector<double> tau;
  tau.reserve(batch * heads * n);
  for (int64_t r = 0; r < batch * heads; ++r) {
    std::vector<double> row = causalThresholds(u.data() + (r * m), m, n, k, window);
    tau.insert(tau.end(), row.begin(), row.end());
  }
  return tau;
}

std::vector<int32_t> topk(const std::vector<double> &u, int64_t batch,
                          int64_t heads, int64_t m, int64_t n, int64_t k,
                          int64_t window) {
  std::vector<int32_t> idx;
  idx.reserve(batch * heads * n * k);
  for (int64_t r = 0; r < batch * heads; ++r) {
    std::vector<int32_t> row = causalTopK(u.data() + (r * m), m, n, k, window);
    idx.insert(idx.end(), row.begin(), row.end());
  }
  return idx;
}

} // namespace sparsek::ref
