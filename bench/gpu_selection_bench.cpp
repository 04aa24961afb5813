// Times the standalone selection ops on the GPU (bench/selection_ops.mlir
// compiled with sparsek-compile --target=cuda) over scores [1, 2, N],
// N = 65536
// (random normal; SPARSEK_BENCH_SCORES=equal or =two for adversarial
// ones), k = 256, window = 512, beside their floor: the bytes each must
// write over the device-to-device copy bandwidth measured in the same run
// (a copy of 1 GiB, so bytes read + written over time; the floor counts
// only the written bytes at that rate).
//
//   gpu_selection_bench N [repeats] [check]
//     -> "copy_bandwidth_gbs <b>"
//        "sparsek_topk N <n> median_ms <t> bytes <w> floor_ms <f>"
//        "sparsek_threshold N <n> median_ms <t> bytes <w> floor_ms <f>"
//     check: every output against the reference library (indices exactly,
//     thresholds within 1e-6 relative + 1e-6 absolute).

#include "sparsek-c/CudaRuntime.h"
#include "sparsek-c/MemRef.h"
#include "sparsek/Reference/Reference.h"
#include "sparsek/Support/MemRefDescriptor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" void _mlir_ciface_sparsek_topk(SparseKMemRef3DF32 *u,
                                          SparseKMemRef4DI32 *out);
extern "C" void _mlir_ciface_sparsek_threshold(SparseKMemRef3DF32 *u,
                                               SparseKMemRef3DF32 *out);

namespace {

template <typename F> double medianMs(int repeats, F &&f) {
  std::vector<double> ms;
  for (int r = 0; r <= repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    auto t1 = std::chrono::steady_clock::now();
    if (r > 0) // the first call loads the modules
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  const int64_t n = std::atoll(argv[1]);
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const bool check = argc > 3 && std::strcmp(argv[3], "check") == 0;
  const int64_t b = 1, h = 2, k = 256, window = 512;
  // selection_ops.mlir is compiled for N = 65536 (the ops take N from
  // their static result type).
  if (n != 65536 || repeats < 1) {
    std::fprintf(stderr, "usage: gpu-selection-bench 65536 [repeats] [check]\n");
    return 2;
  }

  // Copy bandwidth: 1 GiB device to device.
  const size_t copyBytes = size_t(1) << 30;
  void *src = mgpuMemAlloc(copyBytes, nullptr, false);
  void *dst = mgpuMemAlloc(copyBytes, nullptr, false);
  double copyMs = medianMs(repeats, [&] {
    mgpuMemcpy(dst, src, copyBytes, nullptr);
    mgpuStreamSynchronize(nullptr);
  });
  mgpuMemFree(src, nullptr);
  mgpuMemFree(dst, nullptr);
  const double bw = 2.0 * copyBytes / (copyMs * 1e-3); // read + write, B/s
  std::printf("copy_bandwidth_gbs %.0f\n", bw / 1e9);

  std::mt19937_64 rng(1);
  std::normal_distribution<float> dist(0, 1);
  std::bernoulli_distribution coin(0.5);
  const char *kind = std::getenv("SPARSEK_BENCH_SCORES");
  std::string scores = kind ? kind : "normal";
  std::vector<float> u(b * h * n);
  for (float &x : u)
    x = scores == "equal" ? 0.75f
        : scores == "two" ? (coin(rng) ? 1.0f : 0.0f)
                          : dist(rng);
  auto *uDev = static_cast<float *>(mgpuMemAlloc(u.size() * 4, nullptr, false));
  mgpuMemcpy(uDev, u.data(), u.size() * 4, nullptr);
  auto *idxDev = static_cast<int32_t *>(
      mgpuMemAlloc(size_t(b * h * n * k) * 4, nullptr, false));
  auto *tauDev =
      static_cast<float *>(mgpuMemAlloc(size_t(b * h * n) * 4, nullptr, false));
  mgpuStreamSynchronize(nullptr);
  auto uD = sparsek::describeDense<SparseKMemRef3DF32>(uDev, {b, h, n});
  auto iD = sparsek::describeDense<SparseKMemRef4DI32>(idxDev, {b, h, n, k});
  auto tD = sparsek::describeDense<SparseKMemRef3DF32>(tauDev, {b, h, n});

  const std::string tag = scores == "normal" ? "" : " scores " + scores;
  double topkMs = medianMs(repeats, [&] { _mlir_ciface_sparsek_topk(&uD, &iD); });
  double topkBytes = double(b * h * n * k) * 4;
  std::printf("sparsek_topk N %lld median_ms %.3f bytes %.0f floor_ms %.4f%s\n",
              static_cast<long long>(n), topkMs, topkBytes,
              topkBytes / bw * 1e3, tag.c_str());
  double thrMs =
      medianMs(repeats, [&] { _mlir_ciface_sparsek_threshold(&uD, &tD); });
  double thrBytes = double(b * h * n) * 4;
  std::printf(
      "sparsek_threshold N %lld median_ms %.3f bytes %.0f floor_ms %.4f%s\n",
      static_cast<long long>(n), thrMs, thrBytes, thrBytes / bw * 1e3,
      tag.c_str());
  if (sparsekCudaGetStatus() != 0) {
    std::printf("FAILED %s\n", sparsekCudaGetStatusName());
    return 1;
  }
  if (!check)
    return 0;

  std::vector<int32_t> idx(b * h * n * k);
  std::vector<float> tau(b * h * n);
  mgpuMemcpy(idx.data(), idxDev, idx.size() * 4, nullptr);
  mgpuMemcpy(tau.data(), tauDev, tau.size() * 4, nullptr);
  mgpuStreamSynchronize(nullptr);
  std::vector<double> ud(u.begin(), u.end());
  std::vector<int32_t> wantIdx = sparsek::ref::topk(ud, b, h, n, n, k, window);
  std::vector<double> wantTau =
      sparsek::ref::thresholds(ud, b, h, n, n, k, window);
  for (size_t i = 0; i < idx.size(); ++i)
    if (idx[i] != wantIdx[i]) {
      std::printf("sparsek_topk N %lld check FAIL at %zu: got %d want %d\n",
                  static_cast<long long>(n), i, idx[i], wantIdx[i]);
      return 1;
    }
  double maxRel = 0;
  for (size_t i = 0; i < tau.size(); ++i) {
    double want = wantTau[i], got = tau[i];
    if (std::isinf(want) && got == want)
      continue;
    double err = std::fabs(got - want);
    // f32 results: the float64 reference rounded to f32, within 1e-6.
    if (!(err <= 1e-6 * std::fabs(want) + 1e-6)) {
      std::printf("sparsek_threshold N %lld check FAIL at %zu: got %.9g "
                  "want %.9g\n",
                  static_cast<long long>(n), i, got, want);
      return 1;
    }
    maxRel = std::fmax(maxRel, err / std::fmax(std::fabs(want), 1e-30));
  }
  std::printf("check PASS: %zu indices exact, %zu thresholds (max rel err "
              "%.3g)%s\n",
              idx.size(), tau.size(), maxRel, tag.c_str());
  return 0;
}
