// Runs every sparsek op on the GPU (Inputs/ops.mlir compiled by
// sparsek-compile --target=cuda) on device buffers and compares each output
// element with the reference library on the same (rounded) inputs. Prints
// one PASS/FAIL line per op and "N passed, N failed".

#include "sparsek-c/CudaRuntime.h"
#include "sparsek-c/MemRef.h"
#include "sparsek/Reference/Reference.h"
#include "sparsek/Support/Float16.h"
#include "sparsek/Support/MemRefDescriptor.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

namespace ref = sparsek::ref;
const int64_t B = 2, HKV = 2, HQ = 8, N = 300, C = 48, D = 64, DV = 32, K = 16,
              W = 24;

/// A device buffer with its host mirror and its ranked descriptor.
template <typename T, int R> struct Dev {
  std::vector<int64_t> shape;
  std::vector<T> host;
  T *dev = nullptr;
  SparseKMemRefAnyRank desc; // rank R


  explicit Dev(std::vector<int64_t> s, T fill = T()) : shape(std::move(s)) {
    size_t n = 1;
    for (int64_t x : shape)
      n *= x;
    host.assign(n, fill);
    dev = static_cast<T *>(mgpuMemAlloc(n * sizeof(T), nullptr, false));
    desc = sparsek::describeDenseAnyRank(dev, shape);
  }
  ~Dev() { mgpuMemFree(dev, nullptr); }
  void upload() {
    mgpuMemcpy(dev, host.data(), host.size() * sizeof(T), nullptr);
  }
  void download() {
    mgpuMemcpy(host.data(), dev, host.size() * sizeof(T), nullptr);
    mgpuStreamSynchronize(nullptr);
  }
};

std::mt19937_64 rng(5);

/// Fills a bf16 buffer with random values; returns them as read back.
template <int R> std::vector<double> randBF16(Dev<uint16_t, R> &b) {
  std::normal_distribution<float> dist(0, 1);
  std::vector<double> v(b.host.size());
  for (size_t i = 0; i < v.size(); ++i) {
    b.host[i] = sparsek::toBF16(dist(rng));
    v[i] = sparsek::fromBF16(b.host[i]);
  }
  b.upload();
  return v;
}

template <int R> std::vector<double> randF32(Dev<float, R> &b, bool ties) {
  std::uniform_real_distribution<float> dist(-2, 2);
  std::uniform_int_distribution<int> levels(0, 5);
  std::vector<double> v(b.host.size());
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = b.host[i] = ties ? 0.5f * levels(rng) : dist(rng);
  b.upload();
  return v;
}

int passed = 0, failed = 0;

template <typename T>
void check(const std::string &name, const std::vector<T> &got,
           const std::vector<double> &want, double atol, double rtol,
           double (*read)(T)) {
  double maxErr = 0;
  std::string why;
  if (sparsekCudaGetStatus() != 0)
    why = std::string("CUDA error ") + sparsekCudaGetStatusName();
  for (size_t i = 0; why.empty() && i < want.size(); ++i) {
    double g = read(got[i]), w = want[i];
    if (std::isinf(w) && g == w)
      continue;
    double e = std::fabs(g - w);
    if (!(e <= atol + rtol * std::fabs(w)))
      why = "element " + std::to_string(i) + ": got " + std::to_string(g) +
            ", want " + std::to_string(w);
    else
      maxErr = std::fmax(maxErr, e);
  }
  std::printf("%s gpu %-34s max_err=%.3g %s\n", why.empty() ? "PASS" : "FAIL",
              name.c_str(), maxErr, why.c_str());
  (why.empty() ? passed : failed)++;
}

double readF32(float x) { return x; }
double readI32(int32_t x) { return x; }
double readBF16(uint16_t x) { return sparsek::fromBF16(x); }

} // namespace

extern "C" {
void _mlir_ciface_score(void *, void *, void *, void *);
void _mlir_ciface_mask(void *, void *, void *);
void _mlir_ciface_threshold(void *, void *);
void _mlir_ciface_topk(void *, void *);
void _mlir_ciface_gathered(void *, void *, void *, void *, void *, void *,
                           void *);
void _mlir_ciface_noncausal(void *, void *, void *, void *, void *);
}

int main() {
  const double nan = std::nan("");
  { // score: f32 sums of C bf16 products
    Dev<uint16_t, 3> x({B, N, C});
    Dev<uint16_t, 2> w({HKV, C});
    Dev<float, 1> bias({HKV});
    Dev<float, 3> u({B, HKV, N}, nan);
    auto xv = randBF16(x), wv = randBF16(w);
    auto bv = randF32(bias, false);
    u.upload();
    _mlir_ciface_score(&x.desc, &w.desc, &bias.desc, &u.desc);
    u.download();
    check("score", u.host, ref::score(xv, wv, bv, B, N, C, HKV, 0.125), 1e-4,
          1e-4, readF32);
  }
  Dev<float, 3> scores({B, HKV, N});
  auto uv = randF32(scores, /*ties=*/true);
  { // mask along the last dim
    Dev<float, 3> p({B, HKV, N}, nan);
    Dev<float, 2> tau({B, HKV}, nan);
    p.upload();
    tau.upload();
    _mlir_ciface_mask(&scores.desc, &p.desc, &tau.desc);
    p.download();
    tau.download();
    std::vector<double> wp, wt;
    ref::sparsekRows(uv, B * HKV, N, K, wp, wt);
    check("mask p", p.host, wp, 1e-5, 1e-5, readF32);
    check("mask tau", tau.host, wt, 1e-5, 1e-5, readF32);
  }
  std::vector<double> tauRef = ref::thresholds(uv, B, HKV, N, N, K, W);
  std::vector<int32_t> idxRef = ref::topk(uv, B, HKV, N, N, K, W);
  { // thresholds and selection (ties: exact index order)
    Dev<float, 3> tau({B, HKV, N}, nan);
    Dev<int32_t, 4> idx({B, HKV, N, K}, 0x7fffffff);
    tau.upload();
    idx.upload();
    _mlir_ciface_threshold(&scores.desc, &tau.desc);
    _mlir_ciface_topk(&scores.desc, &idx.desc);
    tau.download();
    idx.download();
    check("threshold", tau.host, tauRef, 1e-5, 1e-5, readF32);
    check("topk (exact)", idx.host,
          std::vector<double>(idxRef.begin(), idxRef.end()), 0, 0, readI32);
  }
  Dev<uint16_t, 4> q({B, HQ, N, D}), k({B, HKV, N, D}), v({B, HKV, N, DV});
  auto qv = randBF16(q), kv = randBF16(k), vv = randBF16(v);
  ref::AttentionShape s{B, HQ, HKV, N, N, D, DV};
  { // gathered attention, gate logit, with reference indices/thresholds
    Dev<int32_t, 4> idx({B, HKV, N, K});
    Dev<float, 3> tau({B, HKV, N});
    for (size_t i = 0; i < idxRef.size(); ++i)
      idx.host[i] = idxRef[i];
    std::vector<double> tauUsed(tauRef.size());
    for (size_t i = 0; i < tauRef.size(); ++i)
      tauUsed[i] = tau.host[i] = static_cast<float>(tauRef[i]);
    idx.upload();
    tau.upload();
    Dev<uint16_t, 4> out({B, HQ, N, DV}, 0x7fc0);
    out.upload();
    _mlir_ciface_gathered(&q.desc, &k.desc, &v.desc, &scores.desc, &idx.desc, &tau.desc, &out.desc);
    out.download();
    check("gathered_attention (logit)", out.host,
          ref::gatheredAttention(s, qv, kv, vv, uv, idxRef, K, tauUsed, W,
                                 1.0 / 8.0, ref::Gate::Logit),
          1e-2, 1e-2, readBF16);
  }
  { // the non-causal layer, gate v
    Dev<uint16_t, 4> out({B, HQ, N, DV}, 0x7fc0);
    out.upload();
    _mlir_ciface_noncausal(&q.desc, &k.desc, &v.desc, &scores.desc, &out.desc);
    out.download();
    check("attention (non-causal, v)", out.host,
          ref::attention(s, qv, kv, vv, uv, K, 0, false, 1.0 / 8.0,
                         ref::Gate::V),
          1e-2, 1e-2, readBF16);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
