//===- Decode.cpp - Semantics 10: decoding with constant memory -*- C++ -*-===//
//
// One step for a new token at position p (docs/Semantics.md section 10):
//   1. it enters the window; the token at p - w (p >= w) leaves it and
//      becomes a candidate c (with w = 0, the new token itself);
//   2. S becomes the top k of S ∪ {c} (ties to the larger position, so c
//      wins them); the entry that loses keeps only its score, in the band;
//   3. tau_p is the SPARSEK threshold over the scores of S and the band,
//      and never below the previous one; band scores at or below it are
//      dropped (they add nothing to f(t) for any t >= tau_p, and the
//      threshold never decreases: keeping the previous threshold makes
//      the (k+1)-th score, which can equal it, unnecessary); the band
//      keeps at most its capacity, dropping its lowest scores and
//      recording the overflow;
//   4. out_p is gathered attention over the window and S with tau_p.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Reference/Reference.h"

#include <algorithm>
#include <cmath>

namespace sparsek::ref {

DecodeRow::DecodeRow(int64_t k, int64_t window, int64_t bandCapacity,
                     int64_t d, int64_t dv)
    : k(k), w(window), cap(bandCapacity), d(d), dv(dv) {}

void DecodeRow::capBand() {
  if (static_cast<int64_t>(band.size()) <= cap)
    return;
  std::sort(band.begin(), band.end());
  band.erase(band.begin(), band.end() - cap);
  overflowed_ = true;
}

void DecodeRow::prefill(const double *keys, const double *values,
                        const double *scores, int64_t n) {
  length_ = n;
  auto entry = [&](int64_t p) {
    return Entry{scores[p], p, std::vector<double>(keys + p * d, keys + (p + 1) * d),
                 std::vector<double>(values + p * dv, values + (p + 1) * dv)};
  };
  int64_t c = std::max<int64_t>(0, n - w);
  window_.clear();
  for (int64_t p = c; p < n; ++p)
    window_.push_back(entry(p));
  // The top k candidates by (score, position), and the exact threshold
  // over all of them.
  std::vector<int64_t> order(c);
  for (int64_t j = 0; j < c; ++j)
    order[j] = j;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return scores[a] != scores[b] ? scores[a] > scores[b] : a > b;
  });
  selected.clear();
  band.clear();
  for (int64_t r = 0; r < c; ++r)
    if (r < k)
      selected.push_back(entry(order[r]));
  tau_ = sparsekThreshold(scores, c, k);
  for (int64_t r = k; r < c; ++r)
    if (scores[order[r]] > tau_)
      band.push_back(scores[order[r]]);
  capBand();
}

std::vector<double> DecodeRow::step(const double *q, int64_t group,
                                    const double *key, const double *value,
                                    double score, double scale, Gate gate) {
  int64_t p = length_++;
  Entry e{score, p, std::vector<double>(key, key + d),
          std::vector<double>(value, value + dv)};
  // 1. The window, and the candidate that leaves it.
  bool hasCandidate = false;
  Entry cand;
  if (w == 0) {
    cand = std::move(e);
    hasCandidate = true;
  } else {
    window_.push_back(std::move(e));
    if (static_cast<int64_t>(window_.size()) > w) {
      cand = std::move(window_.front());
      window_.erase(window_.begin());
      hasCandidate = true;
    }
  }
  // 2. The selection: top k of S ∪ {c}, (score, position) order.
  if (hasCandidate) {
    selected.push_back(std::move(cand));
    if (static_cast<int64_t>(selected.size()) > k) {
      auto worst = std::min_element(
          selected.begin(), selected.end(), [](const Entry &a, const Entry &b) {
            return a.score != b.score ? a.score < b.score : a.pos < b.pos;
          });
      band.push_back(worst->score);
      selected.erase(worst);
    }
  }
  // 3. The threshold over S and the band; the band keeps what can matter.
  std::vector<double> scores;
  for (const Entry &s : selected)
    scores.push_back(s.score);
  scores.insert(scores.end(), band.begin(), band.end());
  tau_ = std::max(tau_, sparsekThreshold(scores.data(),
                                         static_cast<int64_t>(scores.size()), k));
  band.erase(std::remove_if(band.begin(), band.end(),
                            [&](double x) { return x <= tau_; }),
             band.end());
  capBand();
  // 4. Attention of the group's queries over the window and S.
  std::vector<double> out(group * dv, 0.0);
  for (int64_t h = 0; h < group; ++h) {
    const double *qi = q + h * d;
    std::vector<const Entry *> keys;
    std::vector<double> weights, logits;
    for (const Entry &x : window_) {
      keys.push_back(&x);
      weights.push_back(1.0);
    }
    for (const Entry &x : selected) {
      keys.push_back(&x);
      weights.push_back(softWeight(x.score, tau_));
    }
    for (size_t a = 0; a < keys.size(); ++a) {
      double dot = 0;
      for (int64_t c = 0; c < d; ++c)
        dot += qi[c] * keys[a]->key[c];
      logits.push_back(gatedLogit(dot, scale, weights[a], gate));
    }
    attendKeys(logits, weights, gate, dv,
               [&](size_t a) { return keys[a]->value.data(); },
               out.data() + h * dv);
  }
  return out;
}

} // namespace sparsek::ref
