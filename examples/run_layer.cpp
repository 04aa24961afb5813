// A plain C++ program that calls the SparseK layer of examples/layer.mlir,
// compiled ahead of time by sparsek-compile, through its C interface, and
// compares the result with the reference library (sparsek::ref, double
// precision, on the same f16-rounded inputs).
//
//   sparsek-compile examples/layer.mlir -o layer.so
//   c++ -std=c++17 -Iinclude examples/run_layer.cpp layer.so \
//       build/lib/libSparseKReference.a -o run_layer && ./run_layer

#include "sparsek-c/MemRef.h"
#include "sparsek/Support/MemRefDescriptor.h"
#include "sparsek/Reference/Reference.h"
#include "sparsek/Support/Float16.h"

#ifdef SPARSEK_RUN_ON_GPU
// Built against the --target=cuda library: buffers live in device memory.
#include "sparsek-c/CudaRuntime.h"
#endif

#include <cmath>
#include <cstdio>
#include <random>
#include <type_traits>
#include <vector>

// The layer's shape-checked entry point (SPEC section 8): returns 0 after
// computing, or 1 without touching any buffer when a size differs from
// examples/layer.mlir. (`_mlir_ciface_sparsek_layer`, same arguments, is the
// unchecked one.)
extern "C" int32_t _mlir_ciface_sparsek_layer_checked(
    SparseKMemRef4DU16 *q, SparseKMemRef4DU16 *key, SparseKMemRef4DU16 *value,
    SparseKMemRef3DF32 *u, SparseKMemRef4DU16 *out);

int main() {
  // The shapes and attributes of examples/layer.mlir.
  const int64_t B = 2, Hq = 8, Hkv = 2, N = 1024, M = 1024, D = 64, K = 64,
                W = 128;
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

  // Where the layer reads and writes: host buffers, or device copies of
  // them for the CUDA build.
  auto place = [](auto &host) {
    using T = typename std::decay_t<decltype(host)>::value_type;
#ifdef SPARSEK_RUN_ON_GPU
    size_t bytes = host.size() * sizeof(T);
    void *dev = mgpuMemAlloc(bytes, nullptr, false);
    mgpuMemcpy(dev, host.data(), bytes, nullptr);
    return static_cast<T *>(dev);
#else
    return host.data();
#endif
  };
  auto qD = sparsek::describeDense<SparseKMemRef4DU16>(place(q), {B, Hq, N, D});
  auto kD = sparsek::describeDense<SparseKMemRef4DU16>(place(k), {B, Hkv, M, D});
  auto vD = sparsek::describeDense<SparseKMemRef4DU16>(place(v), {B, Hkv, M, D});
  auto uD = sparsek::describeDense<SparseKMemRef3DF32>(place(u), {B, Hkv, M});
  auto oD = sparsek::describeDense<SparseKMemRef4DU16>(place(out), {B, Hq, N, D});
  // A query length the layer was not compiled for is refused.
  auto shortQ = qD;
  shortQ.sizes[2] = N / 2;
  int32_t status = _mlir_ciface_sparsek_layer_checked(&shortQ, &kD, &vD, &uD, &oD);
  std::printf("shape check: N = %lld refused with status %d\n",
              static_cast<long long>(N / 2), status);
  if (status != 1)
    return 1;
  status = _mlir_ciface_sparsek_layer_checked(&qD, &kD, &vD, &uD, &oD);
  if (status != 0) {
    std::printf("FAIL: the compiled shapes were refused (status %d)\n", status);
    return 1;
  }
#ifdef SPARSEK_RUN_ON_GPU
  mgpuMemcpy(out.data(), oD.aligned, out.size() * sizeof(uint16_t), nullptr);
  mgpuStreamSynchronize(nullptr);
  if (sparsekCudaGetStatus() != 0) {
    std::printf("FAIL: CUDA error %s\n", sparsekCudaGetStatusName());
    return 1;
  }
  for (void *p : {(void *)qD.aligned, (void *)kD.aligned, (void *)vD.aligned,
                  (void *)uD.aligned, (void *)oD.aligned})
    mgpuMemFree(p, nullptr);
#endif

  sparsek::ref::AttentionShape s{B, Hq, Hkv, N, M, D, D};
  std::vector<double> want = sparsek::ref::attention(
      s, qd, kd, vd, ud, K, W, true, 1.0 / 8.0, sparsek::ref::Gate::V);
  std::printf("%-28s %12s %12s\n", "output element", "sparsek", "reference");
  const size_t shown[] = {0, 1, 64 * 7 + 3, want.size() / 2 + 5, want.size() - 1};
  for (size_t i : shown)
    std::printf("out[%8zu] (flat index)     %12.6f %12.6f\n", i,
                sparsek::fromF16(out[i]), want[i]);
  double maxErr = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double got = sparsek::fromF16(out[i]);
    double err = std::fabs(got - want[i]);
    if (!(err <= 2e-3 + 2e-3 * std::fabs(want[i]))) {
      std::printf("FAIL at %zu: got %g want %g\n", i, got, want[i]);
      return 1;
    }
    maxErr = std::fmax(maxErr, err);
  }
  std::printf("OK: %zu outputs match the reference, max abs error %.3g "
              "(f16 tolerance 2e-3 + 2e-3|ref|)\n",
              want.size(), maxErr);
  return 0;
}
