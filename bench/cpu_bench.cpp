// Times the compiled CPU layer (bench/layer_dynamic.mlir) at one sequence
// length N = M and reports its peak resident memory. One process per size,
// so that ru_maxrss is that size's peak.
//
//   cpu_bench N [repeats] [backward]
//     ->  "N <n> median_s <t> peak_rss_mib <m>"   (the forward, or with
//         `backward` the gradients of sparsek_layer_backward)

#include "sparsek-c/MemRef.h"
#include "sparsek/Support/MemRefDescriptor.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

extern "C" void _mlir_ciface_sparsek_layer(SparseKMemRef4DF32 *q,
                                           SparseKMemRef4DF32 *key,
                                           SparseKMemRef4DF32 *value,
                                           SparseKMemRef3DF32 *u,
                                           SparseKMemRef4DF32 *out);
extern "C" void _mlir_ciface_sparsek_layer_backward(
    SparseKMemRef4DF32 *q, SparseKMemRef4DF32 *key, SparseKMemRef4DF32 *value,
    SparseKMemRef3DF32 *u, SparseKMemRef4DF32 *out, SparseKMemRef4DF32 *dout,
    SparseKMemRef4DF32 *dq, SparseKMemRef4DF32 *dk, SparseKMemRef4DF32 *dv,
    SparseKMemRef3DF32 *du);

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cpu_bench N [repeats]\n");
    return 2;
  }
  const int64_t n = std::atoll(argv[1]), repeats = argc > 2 ? std::atoll(argv[2]) : 3;
  const bool backward = argc > 3 && std::string(argv[3]) == "backward";
  const int64_t b = 1, hq = 2, hkv = 1, d = 64;
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  auto randv = [&](size_t count) {
    std::vector<float> v(count);
    for (float &x : v)
      x = dist(rng);
    return v;
  };
  std::vector<float> q = randv(b * hq * n * d), k = randv(b * hkv * n * d),
                     v = randv(b * hkv * n * d), u = randv(b * hkv * n),
                     out(b * hq * n * d, 0.0f);
  auto qD = sparsek::describeDense<SparseKMemRef4DF32>(q.data(), {b, hq, n, d});
  auto kD = sparsek::describeDense<SparseKMemRef4DF32>(k.data(), {b, hkv, n, d});
  auto vD = sparsek::describeDense<SparseKMemRef4DF32>(v.data(), {b, hkv, n, d});
  auto uD = sparsek::describeDense<SparseKMemRef3DF32>(u.data(), {b, hkv, n});
  auto oD = sparsek::describeDense<SparseKMemRef4DF32>(out.data(), {b, hq, n, d});
  std::vector<float> dout = randv(b * hq * n * d), dq(q.size()), dk(k.size()),
                     dv(v.size()), du(u.size());
  auto gD = sparsek::describeDense<SparseKMemRef4DF32>(dout.data(), {b, hq, n, d});
  auto dqD = sparsek::describeDense<SparseKMemRef4DF32>(dq.data(), {b, hq, n, d});
  auto dkD = sparsek::describeDense<SparseKMemRef4DF32>(dk.data(), {b, hkv, n, d});
  auto dvD = sparsek::describeDense<SparseKMemRef4DF32>(dv.data(), {b, hkv, n, d});
  auto duD = sparsek::describeDense<SparseKMemRef3DF32>(du.data(), {b, hkv, n});
  if (backward) // the forward result the backward is given
    _mlir_ciface_sparsek_layer(&qD, &kD, &vD, &uD, &oD);
  std::vector<double> times;
  for (int64_t r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    if (backward)
      _mlir_ciface_sparsek_layer_backward(&qD, &kD, &vD, &uD, &oD, &gD, &dqD,
                                          &dkD, &dvD, &duD);
    else
      _mlir_ciface_sparsek_layer(&qD, &kD, &vD, &uD, &oD);
    auto t1 = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  if (backward)
    out = dk; // checksum the key gradients
  std::sort(times.begin(), times.end());
  double checksum = 0;
  for (float x : out)
    checksum += x;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  std::printf("N %lld median_s %.4f peak_rss_mib %.1f checksum %.6g\n",
              static_cast<long long>(n), times[times.size() / 2],
              ru.ru_maxrss / 1024.0, checksum);
  return 0;
}
