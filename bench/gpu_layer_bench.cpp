// Times the sparsek GPU layer (bench/layer_gpu.mlir compiled with
// sparsek-compile --target=cuda) at N = M tokens: B = 1, Hq = 8, Hkv = 2
// (SPARSEK_BENCH_SHAPE=B,HQ,HKV for others), D = 128, bf16, device
// buffers. The entry point returns once its work is done (the lowered host
// code waits on its stream), so host time around the call is the layer's
// time. One warm-up call (module load), then the median of `repeats` calls.
//
//   gpu_layer_bench N [repeats]  ->  "sparsek_gpu N <n> median_ms <t>"
//   gpu_layer_bench N 1 check    ->  also compares every output with the
//                                    reference library (double precision,
//                                    on this machine's CPU)

#include "sparsek-c/CudaRuntime.h"
#include "sparsek-c/MemRef.h"
#include "sparsek/Reference/Reference.h"
#include "sparsek/Support/SoftmaxScale.h"
#include "sparsek/Support/Float16.h"
#include "sparsek/Support/MemRefDescriptor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

extern "C" void _mlir_ciface_sparsek_layer(SparseKMemRef4DU16 *q,
                                           SparseKMemRef4DU16 *key,
                                           SparseKMemRef4DU16 *value,
                                           SparseKMemRef3DF32 *u,
                                           SparseKMemRef4DU16 *out);

template <typename T> T *toDevice(const std::vector<T> &host) {
  void *dev = mgpuMemAlloc(host.size() * sizeof(T), nullptr, false);
  mgpuMemcpy(dev, const_cast<T *>(host.data()), host.size() * sizeof(T),
             nullptr);
  return static_cast<T *>(dev);
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  const int64_t n = std::atoll(argv[1]);
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  const bool checkOutputs = argc > 3 && std::strcmp(argv[3], "check") == 0;
  int64_t b = 1, hq = 8, hkv = 2;
  const int64_t d = 128;
  if (const char *shape = std::getenv("SPARSEK_BENCH_SHAPE")) {
    long long sb, sq, skv;
    if (std::sscanf(shape, "%lld,%lld,%lld", &sb, &sq, &skv) != 3 || sb < 1 ||
        skv < 1 || sq < skv || sq % skv != 0) {
      std::fprintf(stderr, "SPARSEK_BENCH_SHAPE must be B,HQ,HKV with HQ a "
                           "multiple of HKV (got '%s')\n", shape);
      return 2;
    }
    b = sb, hq = sq, hkv = skv;
  }
  std::string shapeTag =
      (b == 1 && hq == 8 && hkv == 2)
          ? ""
          : " shape " + std::to_string(b) + "," + std::to_string(hq) + "," +
                std::to_string(hkv);
  std::mt19937_64 rng(1);
  std::normal_distribution<float> dist(0, 1);
  auto bf16 = [&](size_t count) {
    std::vector<uint16_t> v(count);
    for (uint16_t &x : v)
      x = sparsek::toBF16(dist(rng));
    return v;
  };
  std::vector<uint16_t> q = bf16(b * hq * n * d), k = bf16(b * hkv * n * d),
                        v = bf16(b * hkv * n * d), out(b * hq * n * d);
  // Scores: normal (default), or adversarial for selection with
  // SPARSEK_BENCH_SCORES=equal (all 0.75) or =two (0 or 1 at random).
  const char *kind = std::getenv("SPARSEK_BENCH_SCORES");
  std::string scores = kind ? kind : "normal";
  std::vector<float> u(b * hkv * n);
  std::bernoulli_distribution coin(0.5);
  for (float &x : u)
    x = scores == "equal" ? 0.75f
        : scores == "two" ? (coin(rng) ? 1.0f : 0.0f)
                          : dist(rng);
  auto qD = sparsek::describeDense<SparseKMemRef4DU16>(toDevice(q), {b, hq, n, d});
  auto kD = sparsek::describeDense<SparseKMemRef4DU16>(toDevice(k), {b, hkv, n, d});
  auto vD = sparsek::describeDense<SparseKMemRef4DU16>(toDevice(v), {b, hkv, n, d});
  auto uD = sparsek::describeDense<SparseKMemRef3DF32>(toDevice(u), {b, hkv, n});
  auto oD = sparsek::describeDense<SparseKMemRef4DU16>(toDevice(out), {b, hq, n, d});
  mgpuStreamSynchronize(nullptr);
  std::vector<double> ms;
  for (int r = 0; r <= repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    _mlir_ciface_sparsek_layer(&qD, &kD, &vD, &uD, &oD);
    auto t1 = std::chrono::steady_clock::now();
    if (r > 0) // the first call loads the modules
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  if (sparsekCudaGetStatus() != 0) {
    std::printf("sparsek_gpu N %lld FAILED %s\n", static_cast<long long>(n),
                sparsekCudaGetStatusName());
    return 1;
  }
  std::sort(ms.begin(), ms.end());
  std::printf("sparsek_gpu N %lld median_ms %.3f%s%s\n",
              static_cast<long long>(n), ms[ms.size() / 2],
              scores == "normal" ? "" : (" scores " + scores).c_str(),
              shapeTag.c_str());
  if (!checkOutputs)
    return 0;

  // The layer of bench/layer_gpu.mlir: k = 256, window = 512, gate kv.
  mgpuMemcpy(out.data(), oD.aligned, out.size() * sizeof(uint16_t), nullptr);
  mgpuStreamSynchronize(nullptr);
  auto widen = [](const std::vector<uint16_t> &h) {
    std::vector<double> r(h.size());
    for (size_t i = 0; i < h.size(); ++i)
      r[i] = sparsek::fromBF16(h[i]);
    return r;
  };
  std::vector<double> ud(u.begin(), u.end());
  sparsek::ref::AttentionShape s{b, hq, hkv, n, n, d, d};
  std::vector<double> want = sparsek::ref::attention(
      s, widen(q), widen(k), widen(v), ud, 256, 512, true,
      sparsek::defaultSoftmaxScale(d), sparsek::ref::Gate::KV);
  double maxErr = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double got = sparsek::fromBF16(out[i]);
    double err = std::fabs(got - want[i]);
    if (!(err <= 1e-2 + 1e-2 * std::fabs(want[i]))) {
      std::printf("sparsek_gpu N %lld check FAIL at %zu: got %g want %g\n",
                  static_cast<long long>(n), i, got, want[i]);
      return 1;
    }
    maxErr = std::fmax(maxErr, err);
  }
  std::printf("sparsek_gpu N %lld check PASS: %zu outputs, max abs error %.3g "
              "(bf16 tolerance 1e-2 + 1e-2|ref|)\n",
              static_cast<long long>(n), want.size(), maxErr);
  return 0;
}
