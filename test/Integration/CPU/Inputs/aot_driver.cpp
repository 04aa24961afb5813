// A plain C++ program that calls a SparseK layer compiled ahead of time by
// sparsek-compile (Inputs/aot_layer.mlir) through its C interface, and
// compares the result with the reference library.

#include "sparsek-c/MemRef.h"
#include "sparsek/Reference/Reference.h"
#include "sparsek/Support/Float16.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

extern "C" void _mlir_ciface_sparsek_layer(SparseKMemRef4DU16 *q,
                                           SparseKMemRef4DU16 *key,
                                           SparseKMemRef4DU16 *value,
                                           SparseKMemRef3DF32 *u,
                                           SparseKMemRef4DU16 *out);

template <typename Desc, typename T>
Desc describe(std::vector<T> &data, std::initializer_list<int64_t> shape) {
  Desc d{data.data(), data.data(), 0, {}, {}};
  int r = 0;
  for (int64_t s : shape)
    d.sizes[r++] = s;
  int64_t stride = 1;
  for (int i = r - 1; i >= 0; --i) {
    d.strides[i] = stride;
    stride *= d.sizes[i];
  }
  return d;
}

int main() {
  const int64_t B = 2, Hq = 8, Hkv = 2, N = 128, M = 128, D = 64;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  auto half = [&](size_t n, std::vector<double> &asRead) {
    std::vector<uint16_t> v(n);
    asRead.resize(n);
    for (size_t i = 0; i < n; ++i) {
      v[i] = sparsek::toF16(dist(rng));
      asRead[i] = sparsek::fromF16(v[i]);
    }
    return v;
  };
  std::vector<double> qd, kd, vd, ud(B * Hkv * M);
  std::vector<uint16_t> q = half(B * Hq * N * D, qd), k = half(B * Hkv * M * D, kd),
                        v = half(B * Hkv * M * D, vd), out(B * Hq * N * D, 0x7e00);
  std::vector<float> u(B * Hkv * M);
  for (size_t i = 0; i < u.size(); ++i)
    ud[i] = u[i] = 2 * dist(rng);

  auto qD = describe<SparseKMemRef4DU16>(q, {B, Hq, N, D});
  auto kD = describe<SparseKMemRef4DU16>(k, {B, Hkv, M, D});
  auto vD = describe<SparseKMemRef4DU16>(v, {B, Hkv, M, D});
  auto uD = describe<SparseKMemRef3DF32>(u, {B, Hkv, M});
  auto oD = describe<SparseKMemRef4DU16>(out, {B, Hq, N, D});
  _mlir_ciface_sparsek_layer(&qD, &kD, &vD, &uD, &oD);

  sparsek::ref::AttentionShape s{B, Hq, Hkv, N, M, D, D};
  std::vector<double> want = sparsek::ref::attention(
      s, qd, kd, vd, ud, 16, 32, true, 1.0 / 8.0, sparsek::ref::Gate::V);
  double maxErr = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double got = sparsek::fromF16(out[i]);
    double err = std::fabs(got - want[i]);
    if (!(err <= 2e-3 + 2e-3 * std::fabs(want[i]))) {
      std::printf("AOT FAIL at %zu: got %g want %g\n", i, got, want[i]);
      return 1;
    }
    maxErr = std::fmax(maxErr, err);
  }
  std::printf("AOT OK: %zu outputs, max abs error %.3g (f16 tolerance 2e-3 + 2e-3|ref|)\n",
              want.size(), maxErr);
  return 0;
}
