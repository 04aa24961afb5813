//===- Attention.cpp - SPEC 5 and 6: gathered attention, layer --*- C++ -*-===//

#include "sparsek/Reference/Reference.h"

#include <algorithm>
#include <cmath>

namespace sparsek::ref {

std::vector<double> gatheredAttention(const AttentionShape &s,
                                      const std::vector<double> &q,
                                      const std::vector<double> &key,
                                      const std::vector<double> &value,
                                      const std::vector<double> &u,
                                      const std::vector<int32_t> &indices,
                                      int64_t k, const std::vector<double> &tau,
                                      int64_t window, double scale, Gate gate,
                                      std::vector<double> *lse) {
  std::vector<double> out(s.batch * s.hq * s.n * s.dv, 0.0);
  if (lse)
    lse->assign(s.batch * s.hq * s.n, kNegInf);
  int64_t group = s.hkv > 0 ? s.hq / s.hkv : 1;
  std::vector<int64_t> keys;   // A_i
  std::vector<double> weights; // m_ij
  std::vector<double> logits;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.hq; ++h) {
      int64_t g = h / group, row = b * s.hkv + g;
      for (int64_t i = 0; i < s.n; ++i) {
        int64_t pos = i + s.m - s.n;
        int64_t lo = std::max<int64_t>(0, pos - window + 1);
        keys.clear();
        weights.clear();
        for (int64_t j = lo; j <= pos && window > 0; ++j) {
          keys.push_back(j);
          weights.push_back(1.0);
        }
        const int32_t *sel = indices.data() + (row * s.n + i) * k;
        double t = tau[row * s.n + i];
        for (int64_t e = 0; e < k; ++e) {
          int64_t j = sel[e];
          bool inWindow = window > 0 && j >= lo && j <= pos;
          if (j < 0 || j >= s.m || inWindow)
            continue;
          keys.push_back(j);
          weights.push_back(softWeight(u[row * s.m + j], t));
        }
        const double *qi = q.data() + ((b * s.hq + h) * s.n + i) * s.d;
        logits.assign(keys.size(), 0.0);
        for (size_t a = 0; a < keys.size(); ++a) {
          const double *kj = key.data() + (row * s.m + keys[a]) * s.d;
          double dot = 0;
          for (int64_t d = 0; d < s.d; ++d)
            dot += qi[d] * kj[d];
          logits[a] = gatedLogit(dot, scale, weights[a], gate);
        }
        double l = attendKeys(
            logits, weights, gate, s.dv,
            [&](size_t a) {
              return value.data() + (row * s.m + keys[a]) * s.dv;
            },
            out.data() + ((b * s.hq + h) * s.n + i) * s.dv);
        if (lse)
          (*lse)[(b * s.hq + h) * s.n + i] = l;
      }
    }
  return out;
}

double attendKeys(const std::vector<double> &logits,
                  const std::vector<double> &weights, Gate gate, int64_t dv,
                  const std::function<const double *(size_t)> &valueOf,
                  double *out) {
  double maxLogit = kNegInf;
  for (double l : logits)
    maxLogit = std::max(maxLogit, l);
  if (maxLogit == kNegInf)
    return kNegInf; // no key with a finite logit: zero output
  double denom = 0;
  for (size_t a = 0; a < logits.size(); ++a) {
    double p = std::exp(logits[a] - maxLogit);
    denom += p;
    if (gate == Gate::KV || gate == Gate::V)
      p *= weights[a];
    const double *vj = valueOf(a);
    for (int64_t d = 0; d < dv; ++d)
      out[d] += p * vj[d];
  }
  for (int64_t d = 0; d < dv; ++d)
    out[d] /= denom;
  return maxLogit + std::log(denom);
}

std::vector<double> attention(const AttentionShape &s,
                              const std::vector<double> &q,
                              const std::vector<double> &key,
                              const std::vector<double> &value,
                              const std::vector<double> &u, int64_t k,
                              int64_t window, bool causal, double scale,
                              Gate gate, std::vector<double> *lse) {
  if (causal) {
    std::vector<double> tau =
        thresholds(u, s.batch, s.hkv, s.m, s.n, k, window);
    std::vector<int32_t> idx = topk(u, s.batch, s.hkv, s.m, s.n, k, window);
    return gatheredAttention(s, q, key, value, u, idx, k, tau, window, scale,
                             gate, lse);
  }
  // Non-causal: one threshold and one selection over all M keys (those of a
  // single query at position M - 1 with window 0), shared by every query.
  std::vector<double> tau1 = thresholds(u, s.batch, s.hkv, s.m, 1, k, 0);
  std::vector<int32_t> idx1 = topk(u, s.batch, s.hkv, s.m, 1, k, 0);
  std::vector<double> tau(s.batch * s.hkv * s.n);
  std::vector<int32_t> idx(s.batch * s.hkv * s.n * k);
  for (int64_t r = 0; r < s.batch * s.hkv; ++r)
    for (int64_t i = 0; i < s.n; ++i) {
      tau[r * s.n + i] = tau1[r];
      std::copy(idx1.data() + (r * k), idx1.data() + (r * k) + k, idx.data() + (r * s.n + i) * k);
    }
  return gatheredAttention(s, q, key, value, u, idx, k, tau, /*window=*/0,
                           scale, gate, lse);
}

} // namespace sparsek::ref
