//===- Backward.cpp - Semantics 9: gradients of the layer -------*- C++ -*-===//
//
// For query i of head h (KV head g) over A_i = W_i ∪ S_i, with d_ij =
// q_i . key_j, gate weights m_ij, logits l_ij, P = softmax_{A_i}(l_i) and
// the values value'_j the gate uses:
//
//   dP_ij = dout_i . value'_j,  Delta_i = dout_i . out_i,
//   dl_ij = P_ij (dP_ij - Delta_i),
//
// then per gate dq, dkey, dvalue and dm_ij (docs/Semantics.md section 9).
// Window weights are constant. A selected key passes a_ij dm_ij to u_j and
// -a_ij dm_ij to tau_i (a_ij = [0 < u_j - tau_i < 1]); tau_i passes
// dtau_i / |F_i| to every fractional candidate of its mask.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Reference/Reference.h"

#include <algorithm>
#include <cmath>

namespace sparsek::ref {

AttentionGrads attentionBackward(const AttentionShape &s,
                                 const std::vector<double> &q,
                                 const std::vector<double> &key,
                                 const std::vector<double> &value,
                                 const std::vector<double> &u,
                                 const std::vector<double> &dout, int64_t k,
                                 int64_t window, bool causal, double scale,
                                 Gate gate) {
  AttentionGrads g;
  g.dq.assign(q.size(), 0.0);
  g.dkey.assign(key.size(), 0.0);
  g.dvalue.assign(value.size(), 0.0);
  g.du.assign(u.size(), 0.0);
  int64_t group = s.hkv > 0 ? s.hq / s.hkv : 1;
  // Selection of every query: non-causal layers share the one of a query
  // at M - 1 with window 0.
  int64_t nSel = causal ? s.n : 1, w = causal ? window : 0;
  std::vector<double> tau = thresholds(u, s.batch, s.hkv, s.m, nSel, k, w);
  std::vector<int32_t> idx = topk(u, s.batch, s.hkv, s.m, nSel, k, w);
  std::vector<double> out = attention(s, q, key, value, u, k, window, causal,
                                      scale, gate);

  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t kv = 0; kv < s.hkv; ++kv) {
      int64_t row = b * s.hkv + kv;
      const double *ur = u.data() + row * s.m;
      std::vector<double> dtau(nSel, 0.0);
      for (int64_t h = kv * group; h < (kv + 1) * group; ++h)
        for (int64_t i = 0; i < s.n; ++i) {
          int64_t si = causal ? i : 0;
          int64_t pos = causal ? i + s.m - s.n : s.m - 1;
          int64_t lo = std::max<int64_t>(0, pos - w + 1);
          double t = tau[row * nSel + si];
          // A_i with weights; `sel` marks the selected (non-window) keys.
          std::vector<int64_t> keys;
          std::vector<double> m;
          std::vector<bool> sel;
          for (int64_t j = lo; j <= pos && w > 0; ++j) {
            keys.push_back(j);
            m.push_back(1.0);
            sel.push_back(false);
          }
          const int32_t *si_idx = idx.data() + (row * nSel + si) * k;
          for (int64_t e = 0; e < k; ++e) {
            int64_t j = si_idx[e];
            if (j < 0 || (w > 0 && j >= lo && j <= pos))
              continue;
            keys.push_back(j);
            m.push_back(softWeight(ur[j], t));
            sel.push_back(true);
          }
          const double *qi = q.data() + ((b * s.hq + h) * s.n + i) * s.d;
          const double *oi = out.data() + ((b * s.hq + h) * s.n + i) * s.dv;
          const double *gi = dout.data() + ((b * s.hq + h) * s.n + i) * s.dv;
          double *dqi = g.dq.data() + ((b * s.hq + h) * s.n + i) * s.d;
          size_t a = keys.size();
          std::vector<double> dot(a), l(a), p(a);
          double mx = kNegInf;
          for (size_t x = 0; x < a; ++x) {
            const double *kj = key.data() + (row * s.m + keys[x]) * s.d;
            double d = 0;
            for (int64_t c = 0; c < s.d; ++c)
              d += qi[c] * kj[c];
            dot[x] = d;
            double li = gatedLogit(d, scale, m[x], gate);
            l[x] = li;
            mx = std::max(mx, li);
          }
          if (mx == kNegInf)
            continue; // zero output: nothing flows back
          double den = 0;
          for (size_t x = 0; x < a; ++x)
            den += p[x] = std::exp(l[x] - mx);
          double delta = 0;
          for (int64_t c = 0; c < s.dv; ++c)
            delta += gi[c] * oi[c];
          for (size_t x = 0; x < a; ++x) {
            p[x] /= den;
            int64_t j = keys[x];
            const double *vj = value.data() + (row * s.m + j) * s.dv;
            const double *kj = key.data() + (row * s.m + j) * s.d;
            double dov = 0; // dout_i . value_j
            for (int64_t c = 0; c < s.dv; ++c)
              dov += gi[c] * vj[c];
            bool valueGated = gate == Gate::KV || gate == Gate::V;
            double dP = valueGated ? m[x] * dov : dov;
            double dl = p[x] * (dP - delta);
            double logitW = gate == Gate::KV ? m[x] : 1.0;
            double *dkj = g.dkey.data() + (row * s.m + j) * s.d;
            double *dvj = g.dvalue.data() + (row * s.m + j) * s.dv;
            for (int64_t c = 0; c < s.d; ++c) {
              dqi[c] += dl * scale * logitW * kj[c];
              dkj[c] += dl * scale * logitW * qi[c];
            }
            double vw = valueGated ? p[x] * m[x] : p[x];
            for (int64_t c = 0; c < s.dv; ++c)
              dvj[c] += vw * gi[c];
            if (!sel[x])
              continue; // window weights are constant
            double dm = 0;
            switch (gate) {
            case Gate::KV:
              dm = dl * scale * dot[x] + p[x] * dov;
              break;
            case Gate::V:
              dm = p[x] * dov;
              break;
            case Gate::Logit:
              dm = m[x] > 0 ? dl / m[x] : 0.0;
              break;
            case Gate::None:
              dm = 0;
              break;
            }
            double d = ur[j] - t;
            if (t != kNegInf && d > 0 && d < 1) {
              g.du[row * s.m + j] += dm;
              dtau[si] -= dm;
            }
          }
        }
      // The threshold term: dtau_i / |F_i| to every fractional candidate
      // of query i's mask.
      for (int64_t si = 0; si < nSel; ++si) {
        double t = tau[row * nSel + si];
        if (t == kNegInf || dtau[si] == 0)
          continue;
        int64_t pos = causal ? si + s.m - s.n : s.m - 1;
        int64_t c = std::clamp<int64_t>(pos - w + 1, 0, s.m);
        std::vector<int64_t> frac;
        for (int64_t l = 0; l < c; ++l) {
          double d = ur[l] - t;
          if (d > 0 && d < 1)
            frac.push_back(l);
        }
        for (int64_t l : frac)
          g.du[row * s.m + l] += dtau[si] / static_cast<double>(frac.size());
      }
    }
  return g;
}

} // namespace sparsek::ref
