//===- Reference.h - SparseK reference semantics ----------------*- C++ -*-===//
//
// The math of docs/Semantics.md sections 1 to 6 in double precision, with no
// MLIR dependency: the oracle every lowering is tested against.
//
// Tensors are dense row-major std::vector<double> (indices: int32_t) in the
// layouts of SPEC.md. Algorithms are the fast ones (sort-based SPARSEK,
// incremental causal thresholds and selection); unittests/Reference checks
// them against brute-force definitions.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_REFERENCE_REFERENCE_H
#define SPARSEK_REFERENCE_REFERENCE_H

#include <cstdint>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

namespace sparsek::ref {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

/// SPEC section 5: where the gate weight m_ij enters attention.
enum class Gate { KV, V, Logit, None };

/// The soft weight clip(u - tau, 0, 1) of a selected entry (SPEC 2 and 5),
/// with the conventions that make it defined for infinite scores: while
/// tau = -inf every entry is fully selected (weight 1, also for u = -inf),
/// and u = +inf is always fully selected.
inline double softWeight(double u, double tau) {
  if (tau == kNegInf || u == -kNegInf)
    return 1.0;
  double d = u - tau;
  return d <= 0 ? 0.0 : d >= 1 ? 1.0 : d;
}

/// The gated logit of one key (SPEC 5): scale * (q . key), times the gate
/// weight m for the kv gate, plus log m for the logit gate.
inline double gatedLogit(double dot, double scale, double m, Gate gate) {
  double l = scale * dot;
  if (gate == Gate::KV)
    l *= m;
  else if (gate == Gate::Logit)
    l += std::log(m);
  return l;
}

/// One query's output (SPEC 5) from its keys' gated logits and gate
/// weights: out[c] = sum_a p_a * w_a * value_a[c] / sum_a p_a, with
/// p_a = exp(logit_a - max) and w_a the weight for the kv and v gates (1
/// otherwise). `out` (dv entries) must hold zeros and stays zero when no
/// logit is finite. valueOf(a) gives key a's value row. Returns the
/// log-sum-exp of the logits (-inf when none is finite).
double attendKeys(const std::vector<double> &logits,
                  const std::vector<double> &weights, Gate gate, int64_t dv,
                  const std::function<const double *(size_t)> &valueOf,
                  double *out);

//===----------------------------------------------------------------------===//
// SPEC 1: scoring
//===----------------------------------------------------------------------===//

/// u[b, h, j] = sum_c x[b, j, c] * w[h, c] + bias[h] + slope * j.
/// x : [B, M, C], w : [H, C], bias : [H] or empty. Returns u : [B, H, M].
std::vector<double> score(const std::vector<double> &x,
                          const std::vector<double> &w,
                          const std::vector<double> &bias, int64_t batch,
                          int64_t m, int64_t c, int64_t h, double slope);

//===----------------------------------------------------------------------===//
// SPEC 2: the SPARSEK operator
//===----------------------------------------------------------------------===//

/// tau(z, k): the smallest tau with sum_j clip(z_j - tau, 0, 1) = k, or
/// -inf when n <= k. O(n log n).
double sparsekThreshold(const double *z, int64_t n, int64_t k);

/// SPARSEK(z, k) of one vector: writes p[0..n) and returns tau.
double sparsek(const double *z, int64_t n, int64_t k, double *p);

/// SPARSEK along the last dimension of `z` (`rows` rows of length n): p has
/// z's size, tau one entry per row.
void sparsekRows(const std::vector<double> &z, int64_t rows, int64_t n,
                 int64_t k, std::vector<double> &p, std::vector<double> &tau);

/// dL/dz given p = SPARSEK(z, k) and g = dL/dp: with F = { j : 0 < p_j < 1 },
/// dz_j = [j in F] * (g_j - mean_{l in F} g_l).
std::vector<double> sparsekGradient(const std::vector<double> &p,
                                    const std::vector<double> &g);

//===----------------------------------------------------------------------===//
// SPEC 3 and 4: causal thresholds and selection
//===----------------------------------------------------------------------===//

/// Causal thresholds of one (batch, head) row u[0..m): tau[i] =
/// tau(u[C_i], k) with C_i = [0, p(i) - window], p(i) = i + m - n.
/// Incremental: O(m log m) in all.
std::vector<double> causalThresholds(const double *u, int64_t m, int64_t n,
                                     int64_t k, int64_t window);

/// Causal top-k of one row: n x k indices, each row sorted by descending
/// score (ties: larger index first), padded with -1.
/// O(m log k + n k).
std::vector<int32_t> causalTopK(const double *u, int64_t m, int64_t n,
                                int64_t k, int64_t window);

/// The two above over u : [B, H, M]; results [B, H, N] and [B, H, N, k].
std::vector<double> thresholds(const std::vector<double> &u, int64_t batch,
                               int64_t heads, int64_t m, int64_t n, int64_t k,
                               int64_t window);
std::vector<int32_t> topk(const std::vector<double> &u, int64_t batch,
                          int64_t heads, int64_t m, int64_t n, int64_t k,
                          int64_t window);

/// What the fused attention of a block of `blockSize` consecutive queries
/// needs from selection, for one (batch, head) row (`sparsek.block_select`):
/// per query i, the k-th best candidate (score, index) of C_i, or
/// (-inf, -1) when C_i has fewer than k candidates (then every candidate is
/// selected), and tau_i; per query block, the union of its queries'
/// selections (each key once, in ascending index order, -1 padding) and
/// its size. Key j is in S_i exactly when j <= p(i) - window and
/// (u_j, j) >= (kthScore_i, kthIndex_i) lexicographically.
struct BlockSelection {
  std::vector<double> kthScore, tau;      // [N]
  std::vector<int32_t> kthIndex;          // [N]
  std::vector<int32_t> unionIndices;      // [ceil(N / blockSize), k + blockSize - 1]
  std::vector<int32_t> unionCount;        // [ceil(N / blockSize)]
};
BlockSelection blockSelect(const double *u, int64_t m, int64_t n, int64_t k,
                           int64_t window, int64_t blockSize);

//===----------------------------------------------------------------------===//
// SPEC 5 and 6: attention
//===----------------------------------------------------------------------===//

struct AttentionShape {
  int64_t batch, hq, hkv, n, m, d, dv;
};

/// Gathered attention (SPEC 5). q : [B, Hq, N, D], key : [B, Hkv, M, D],
/// value : [B, Hkv, M, Dv], u : [B, Hkv, M], indices : [B, Hkv, N, k],
/// tau : [B, Hkv, N]. Index entries outside [0, M) (the -1 padding among
/// them) or inside the window add nothing; an entry repeated within a row
/// counts each time (rows from sparsek.topk are distinct). A query with no
/// key of finite logit gets a zero output. Returns [B, Hq, N, Dv].
std::vector<double> gatheredAttention(const AttentionShape &s,
                                      const std::vector<double> &q,
                                      const std::vector<double> &key,
                                      const std::vector<double> &value,
                                      const std::vector<double> &u,
                                      const std::vector<int32_t> &indices,
                                      int64_t k, const std::vector<double> &tau,
                                      int64_t window, double scale, Gate gate,
                                      std::vector<double> *lse = nullptr);

/// The whole layer (SPEC 6), causal or not. With `lse`, also every
/// query's log-sum-exp of its logits ([B, Hq, N], -inf when it attends to
/// nothing: the optional second result of sparsek.attention).
std::vector<double> attention(const AttentionShape &s,
                              const std::vector<double> &q,
                              const std::vector<double> &key,
                              const std::vector<double> &value,
                              const std::vector<double> &u, int64_t k,
                              int64_t window, bool causal, double scale,
                              Gate gate, std::vector<double> *lse = nullptr);

//===----------------------------------------------------------------------===//
// Semantics 9: gradients
//===----------------------------------------------------------------------===//

struct AttentionGrads {
  std::vector<double> dq, dkey, dvalue, du; // shapes of q, key, value, u
};

/// The gradients of the whole layer (`sparsek.attention_backward`) with
/// respect to q, key, value and the scores u, given dout = dL/dout; which
/// keys are selected gets no gradient, everything else is differentiated
/// exactly, including the threshold's dependence on every fractional
/// candidate of the SPARSEK mask. Direct loops: O(N M) per head for the
/// threshold term (an oracle for tests, not a fast algorithm).
AttentionGrads attentionBackward(const AttentionShape &s,
                                 const std::vector<double> &q,
                                 const std::vector<double> &key,
                                 const std::vector<double> &value,
                                 const std::vector<double> &u,
                                 const std::vector<double> &dout, int64_t k,
                                 int64_t window, bool causal, double scale,
                                 Gate gate);

//===----------------------------------------------------------------------===//
// Semantics 10: decoding with constant key/value memory
//===----------------------------------------------------------------------===//

/// The decode state of one (batch, KV head) row: keys and values of the k
/// selected and the w window tokens only, plus the band (scores, no keys or
/// values) of candidates outside the selection that score above the
/// current threshold, at most `bandCapacity` of them.
class DecodeRow {
public:
  DecodeRow(int64_t k, int64_t window, int64_t bandCapacity, int64_t d,
            int64_t dv);

  /// Appends the token at position length() (its key [D], value [Dv] and
  /// score) and returns the attention outputs ([group * Dv]) of its
  /// `group` queries (q: [group * D]), exactly what sparsek.attention
  /// gives the last query of the whole history (while the band has not
  /// overflowed).
  std::vector<double> step(const double *q, int64_t group, const double *key,
                           const double *value, double score, double scale,
                           Gate gate);

  /// Builds, on a fresh row, the state after a prompt of `n` tokens (keys
  /// [n * D], values [n * Dv], scores [n]) without attending: the window's
  /// last w tokens, the top k candidates, the exact threshold of the last
  /// token, and the band of the other candidates above it (its highest
  /// `bandCapacity` scores; more is recorded as an overflow). Without an
  /// overflow this is the state n steps would have built.
  void prefill(const double *keys, const double *values, const double *scores,
               int64_t n);

  int64_t length() const { return length_; }
  double tau() const { return tau_; }
  bool overflowed() const { return overflowed_; }
  /// Entries held: selected + window (each with key and value) and band.
  int64_t keysHeld() const {
    return static_cast<int64_t>(selected.size() + window_.size());
  }
  int64_t bandSize() const { return static_cast<int64_t>(band.size()); }

private:
  /// Keeps the band's highest `cap` scores, recording an overflow.
  void capBand();

  struct Entry {
    double score;
    int64_t pos;
    std::vector<double> key, value;
  };
  int64_t k, w, cap, d, dv, length_ = 0;
  double tau_ = kNegInf;
  bool overflowed_ = false;
  std::vector<Entry> selected, window_; // window_ oldest first
  std::vector<double> band;
};

} // namespace sparsek::ref

#endif // SPARSEK_REFERENCE_REFERENCE_H
