// Calls the _checked entry points of Inputs/views.mlir the way a framework
// does: inputs as strided views with offsets (the [B, H, N, D] transposes
// of [B, N, H, D] buffers), outputs into views, and sizes that break the
// op's rules. Prints one line per check and "N passed, N failed".

#include "sparsek-c/MemRef.h"
#include "sparsek/Reference/Reference.h"
#include "sparsek/Support/SoftmaxScale.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

extern "C" int32_t _mlir_ciface_layer_dense_checked(
    SparseKMemRef4DF32 *q, SparseKMemRef4DF32 *key, SparseKMemRef4DF32 *value,
    SparseKMemRef3DF32 *u, SparseKMemRef4DF32 *out);
extern "C" int32_t _mlir_ciface_layer_view_checked(
    SparseKMemRef4DF32 *q, SparseKMemRef4DF32 *key, SparseKMemRef4DF32 *value,
    SparseKMemRef3DF32 *u, SparseKMemRef4DF32 *out);

namespace {

const int64_t B = 2, Hq = 4, Hkv = 2, N = 9, M = 13, D = 8, Dv = 6;
const int64_t K = 3, W = 4;
const float kPoison = -12345.0f;
int passed = 0, failed = 0;

void check(bool ok, const char *what) {
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what);
  (ok ? passed : failed)++;
}

/// A [b, n, h, d] buffer (offset `off` into its allocation) seen as
/// [b, h, n, d]: the transpose frameworks pass.
SparseKMemRef4DF32 transposedView(std::vector<float> &buf, int64_t off,
                                  int64_t b, int64_t h, int64_t n, int64_t d) {
  return {buf.data(), buf.data(), off, {b, h, n, d},
          {n * h * d, d, h * d, 1}};
}

SparseKMemRef4DF32 dense4(std::vector<float> &buf, int64_t off, int64_t a,
                          int64_t b, int64_t c, int64_t d) {
  return {buf.data(), buf.data(), off, {a, b, c, d},
          {b * c * d, c * d, d, 1}};
}

/// Element (i, j, k, l) of a view.
float &at(const SparseKMemRef4DF32 &v, int64_t i, int64_t j, int64_t k,
          int64_t l) {
  return v.aligned[v.offset + i * v.strides[0] + j * v.strides[1] +
                   k * v.strides[2] + l * v.strides[3]];
}

bool untouched(const std::vector<float> &buf) {
  for (float x : buf)
    if (x != kPoison)
      return false;
  return true;
}

} // namespace

int main() {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> dist(-1, 1);
  auto randomBuf = [&](size_t n) {
    std::vector<float> v(n);
    for (float &x : v)
      x = dist(rng);
    return v;
  };
  // Inputs: transposed [B, N, H, D] buffers at offsets 5, 2, 3; u at 4.
  std::vector<float> qBuf = randomBuf(5 + B * N * Hq * D),
                     kBuf = randomBuf(2 + B * M * Hkv * D),
                     vBuf = randomBuf(3 + B * M * Hkv * Dv),
                     uBuf = randomBuf(4 + B * Hkv * M);
  SparseKMemRef4DF32 q = transposedView(qBuf, 5, B, Hq, N, D),
                     key = transposedView(kBuf, 2, B, Hkv, M, D),
                     value = transposedView(vBuf, 3, B, Hkv, M, Dv);
  SparseKMemRef3DF32 u{uBuf.data(), uBuf.data(), 4, {B, Hkv, M},
                       {Hkv * M, M, 1}};

  // The reference on the same values, read through the views.
  std::vector<double> qd, kd, vd, ud;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t i = 0; i < N; ++i)
        for (int64_t d = 0; d < D; ++d)
          qd.push_back(at(q, b, h, i, d));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hkv; ++h)
      for (int64_t j = 0; j < M; ++j) {
        for (int64_t d = 0; d < D; ++d)
          kd.push_back(at(key, b, h, j, d));
        for (int64_t d = 0; d < Dv; ++d)
          vd.push_back(at(value, b, h, j, d));
        ud.push_back(uBuf[4 + (b * Hkv + h) * M + j]);
      }
  sparsek::ref::AttentionShape s{B, Hq, Hkv, N, M, D, Dv};
  std::vector<double> want = sparsek::ref::attention(
      s, qd, kd, vd, ud, K, W, true, sparsek::defaultSoftmaxScale(D),
      sparsek::ref::Gate::KV);
  auto matches = [&](const SparseKMemRef4DF32 &o) {
    size_t e = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < Hq; ++h)
        for (int64_t i = 0; i < N; ++i)
          for (int64_t d = 0; d < Dv; ++d, ++e) {
            double got = at(o, b, h, i, d);
            if (!(std::fabs(got - want[e]) <= 1e-5 + 1e-4 * std::fabs(want[e])))
              return false;
          }
    return true;
  };

  // 1. Strided inputs, output into a transposed view at offset 7 of a
  //    larger buffer: correct, and nothing outside the view written.
  {
    std::vector<float> oBuf(7 + B * N * Hq * Dv + 11, kPoison);
    SparseKMemRef4DF32 out = transposedView(oBuf, 7, B, Hq, N, Dv);
    int32_t st = _mlir_ciface_layer_view_checked(&q, &key, &value, &u, &out);
    check(st == 0 && matches(out), "strided views in, transposed view out");
    bool outside = true;
    for (size_t i = 0; i < oBuf.size(); ++i)
      if (i < 7 || i >= size_t(7 + B * N * Hq * Dv))
        outside &= oBuf[i] == kPoison;
    check(outside, "nothing outside the output view written");
  }
  // 2. A dense destination: correct; a view with an offset or strides is
  //    refused with status 2, untouched.
  {
    std::vector<float> oBuf(B * Hq * N * Dv, kPoison);
    SparseKMemRef4DF32 out = dense4(oBuf, 0, B, Hq, N, Dv);
    check(_mlir_ciface_layer_dense_checked(&q, &key, &value, &u, &out) == 0 &&
              matches(out),
          "strided views in, dense destination out");
    std::vector<float> oBuf2(3 + B * Hq * N * Dv, kPoison);
    SparseKMemRef4DF32 shifted = dense4(oBuf2, 3, B, Hq, N, Dv);
    check(_mlir_ciface_layer_dense_checked(&q, &key, &value, &u, &shifted) == 2 &&
              untouched(oBuf2),
          "dense destination given an offset: status 2, untouched");
    SparseKMemRef4DF32 transposed = transposedView(oBuf2, 0, B, Hq, N, Dv);
    check(_mlir_ciface_layer_dense_checked(&q, &key, &value, &u, &transposed) == 2 &&
              untouched(oBuf2),
          "dense destination given a transposed view: status 2, untouched");
  }
  // 3. Sizes that break the op's rules: status 1, nothing written.
  struct Bad {
    const char *what;
    std::function<void(SparseKMemRef4DF32 &, SparseKMemRef4DF32 &,
                       SparseKMemRef4DF32 &, SparseKMemRef3DF32 &,
                       SparseKMemRef4DF32 &)>
        edit;
  } bads[] = {
      {"out query length != q query length",
       [](auto &, auto &, auto &, auto &, auto &o) { o.sizes[2] -= 1; }},
      {"u KV length != key KV length",
       [](auto &, auto &, auto &, auto &uu, auto &) { uu.sizes[2] -= 1; }},
      {"value KV heads != key KV heads",
       [](auto &, auto &, auto &v, auto &, auto &) { v.sizes[1] = 1; }},
      {"Hq not a multiple of Hkv",
       [](auto &qq, auto &, auto &, auto &, auto &o) {
         qq.sizes[1] = 3;
         o.sizes[1] = 3;
       }},
      {"Hkv = 0 with Hq > 0",
       [](auto &, auto &k, auto &v, auto &uu, auto &) {
         k.sizes[1] = v.sizes[1] = uu.sizes[1] = 0;
       }},
      {"N > M",
       [](auto &qq, auto &k, auto &v, auto &uu, auto &o) {
         k.sizes[2] = v.sizes[2] = uu.sizes[2] = qq.sizes[2] - 1;
         o.sizes[2] = qq.sizes[2];
       }},
      {"D = 0",
       [](auto &qq, auto &k, auto &, auto &, auto &) {
         qq.sizes[3] = k.sizes[3] = 0;
       }},
      {"head dims differ",
       [](auto &qq, auto &, auto &, auto &, auto &) { qq.sizes[3] -= 1; }},
      {"batch differs",
       [](auto &, auto &, auto &, auto &uu, auto &) { uu.sizes[0] = 1; }},
  };
  for (Bad &bad : bads) {
    std::vector<float> oBuf(B * Hq * N * Dv, kPoison);
    SparseKMemRef4DF32 qq = q, kk = key, vv = value, out = dense4(oBuf, 0, B, Hq, N, Dv);
    SparseKMemRef3DF32 uu = u;
    bad.edit(qq, kk, vv, uu, out);
    int32_t st = _mlir_ciface_layer_dense_checked(&qq, &kk, &vv, &uu, &out);
    std::string what = std::string(bad.what) + ": status 1, untouched";
    check(st == 1 && untouched(oBuf), what.c_str());
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
