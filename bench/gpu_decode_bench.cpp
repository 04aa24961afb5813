// Times sparsek's decode step (bench/decode_gpu.mlir compiled with
// sparsek-compile --target=cuda; issue 12): Hq = 32, Hkv = 8, D = Dv = 128,
// bf16, k = 256, window = 512, band capacity 1024, gate kv. The state is
// prefilled from random prompts of `context` tokens (in chunks of at most
// 16 sequences, into slices of the batch's state), then `steps` decoding
// steps run in one call (one stream, no host synchronisation between
// steps); a step's time is the call's host time over `steps` (median of 3
// calls, after a warm-up call that loads the modules).
//
//   gpu_decode_bench B context [steps]      -> "sparsek_gpu_decode B <b>
//       context <c> step_us <t> read_MB <m> GBps <g>": `read_MB` is what a
//       step must read, the slots' keys and values, B Hkv (k + w)(D + Dv)
//       elements
//   gpu_decode_bench B context steps check  -> also the steps' outputs
//       against the reference decoder (ref::DecodeRow, double precision on
//       this machine's CPU: prefill + every step; with a band that does not
//       overflow it equals the whole-sequence layer), every output of about
//       100 sampled steps (all steps of short runs), and the final
//       thresholds against the reference's

#include "sparsek-c/CudaRuntime.h"
#include "sparsek-c/MemRef.h"
#include "sparsek/Reference/Reference.h"
#include "sparsek/Support/Float16.h"
#include "sparsek/Support/MemRefDescriptor.h"
#include "sparsek/Support/SoftmaxScale.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {
constexpr int64_t kHq = 32, kHkv = 8, kD = 128, kK = 256, kW = 512,
                  kCb = 1024, kS = kK + kW, kL = kK + kCb + 1;
using D4U16 = SparseKMemRef4DU16;
using D3F32 = SparseKMemRef3DF32;
using D3I32 = SparseKMemRef3DI32;
using D4F32 = SparseKMemRef4DF32;
using D4I32 = SparseKMemRef4DI32;
using D3F64 = SparseKMemRef3DF64;
using D1I32 = SparseKMemRef1DI32;
} // namespace

extern "C" {
void _mlir_ciface_sparsek_decode_prefill(D4U16 *key, D4U16 *value, D3F32 *u,
                                         D1I32 *plen, D4U16 *keys,
                                         D4U16 *values, D3F32 *scores,
                                         D3I32 *positions, D4F32 *bandScores,
                                         D4I32 *bandPositions, D3F64 *threshold,
                                         D3I32 *counts, D1I32 *lengths);
void _mlir_ciface_sparsek_decode_steps(D4U16 *q, D4U16 *key, D4U16 *value,
                                       D3F32 *u, D4U16 *out, D4U16 *keys,
                                       D4U16 *values, D3F32 *scores,
                                       D3I32 *positions, D4F32 *bandScores,
                                       D4I32 *bandPositions, D3F64 *threshold,
                                       D3I32 *counts, D1I32 *lengths);
}

namespace {

void *deviceAlloc(size_t bytes) { return mgpuMemAlloc(bytes, nullptr, false); }

template <typename T> T *toDevice(const std::vector<T> &host) {
  void *dev = deviceAlloc(host.size() * sizeof(T));
  mgpuMemcpy(dev, const_cast<T *>(host.data()), host.size() * sizeof(T),
             nullptr);
  return static_cast<T *>(dev);
}

template <typename T> std::vector<T> fromDevice(const void *dev, size_t n) {
  std::vector<T> host(n);
  mgpuMemcpy(host.data(), const_cast<void *>(dev), n * sizeof(T), nullptr);
  mgpuStreamSynchronize(nullptr);
  return host;
}

/// `count` elements on the device: a random host pattern of at most 2^24
/// elements, repeated.
template <typename T> T *tiled(const std::vector<T> &pattern, size_t count) {
  T *dev = static_cast<T *>(deviceAlloc(count * sizeof(T)));
  for (size_t at = 0; at < count; at += pattern.size()) {
    size_t n = std::min(pattern.size(), count - at);
    mgpuMemcpy(dev + at, const_cast<T *>(pattern.data()), n * sizeof(T),
               nullptr);
  }
  return dev;
}

/// Descriptor of sequences [first, first + count) of a batch-major buffer.
template <typename Desc, typename T>
Desc slice(T *base, std::vector<int64_t> shape, int64_t first, int64_t count) {
  int64_t per = 1;
  for (size_t i = 1; i < shape.size(); ++i)
    per *= shape[i];
  shape[0] = count;
  return sparsek::describeDense<Desc>(base + first * per, shape);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  const int64_t batch = std::atoll(argv[1]), context = std::atoll(argv[2]);
  const int64_t steps = argc > 3 ? std::atoll(argv[3]) : 64;
  const bool check = argc > 4 && std::strcmp(argv[4], "check") == 0;
  std::mt19937_64 rng(7);
  std::normal_distribution<float> dist(0, 1);
  auto bf16 = [&](size_t n) {
    std::vector<uint16_t> v(n);
    for (uint16_t &x : v)
      x = sparsek::toBF16(dist(rng));
    return v;
  };
  auto scores = [&](size_t n) {
    std::vector<float> v(n);
    for (float &x : v)
      x = dist(rng);
    return v;
  };

  // The state.
  const int64_t rows = batch * kHkv;
  // SPARSEK_DECODE_MISALIGN=1: key/value rows one element off 16-byte
  // alignment, which the step's general-layout attention kernel (a warp
  // per query head) serves instead of the tile kernel: an A/B in one run.
  const char *misalignEnv = std::getenv("SPARSEK_DECODE_MISALIGN");
  const int64_t shift = misalignEnv && *misalignEnv == '1' ? 1 : 0;
  auto *keys =
      static_cast<uint16_t *>(deviceAlloc(rows * kS * kD * 2 + 16)) + shift;
  auto *values =
      static_cast<uint16_t *>(deviceAlloc(rows * kS * kD * 2 + 16)) + shift;
  auto *slotScores = static_cast<float *>(deviceAlloc(rows * kS * 4));
  auto *positions = static_cast<int32_t *>(deviceAlloc(rows * kS * 4));
  auto *bandScores = static_cast<float *>(deviceAlloc(rows * 2 * kL * 4));
  auto *bandPositions = static_cast<int32_t *>(deviceAlloc(rows * 2 * kL * 4));
  auto *threshold = static_cast<double *>(deviceAlloc(rows * 3 * 8));
  auto *counts = static_cast<int32_t *>(deviceAlloc(rows * 3 * 4));
  auto *lengths = static_cast<int32_t *>(deviceAlloc(batch * 4));
  auto stateOf = [&](int64_t first, int64_t count) {
    return std::make_tuple(
        slice<D4U16>(keys, {batch, kHkv, kS, kD}, first, count),
        slice<D4U16>(values, {batch, kHkv, kS, kD}, first, count),
        slice<D3F32>(slotScores, {batch, kHkv, kS}, first, count),
        slice<D3I32>(positions, {batch, kHkv, kS}, first, count),
        slice<D4F32>(bandScores, {batch, kHkv, 2, kL}, first, count),
        slice<D4I32>(bandPositions, {batch, kHkv, 2, kL}, first, count),
        slice<D3F64>(threshold, {batch, kHkv, 3}, first, count),
        slice<D3I32>(counts, {batch, kHkv, 3}, first, count),
        slice<D1I32>(lengths, {batch}, first, count));
  };

  // Prefill in chunks of 16 sequences. Checking keeps the prompts (small
  // contexts only) for the reference.
  const int64_t chunk = std::min<int64_t>(batch, 16);
  std::vector<uint16_t> kPat = bf16(1 << 22), vPat = bf16(1 << 22);
  std::vector<float> uPat = scores(1 << 20);
  size_t promptKV = chunk * kHkv * context * kD, promptU = chunk * kHkv * context;
  uint16_t *pk = tiled(kPat, promptKV), *pv = tiled(vPat, promptKV);
  float *pu = tiled(uPat, promptU);
  int32_t *plen = toDevice(std::vector<int32_t>(chunk, int32_t(context)));
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < batch; first += chunk) {
    int64_t count = std::min(chunk, batch - first);
    auto kD4 = slice<D4U16>(pk, {chunk, kHkv, context, kD}, 0, count);
    auto vD4 = slice<D4U16>(pv, {chunk, kHkv, context, kD}, 0, count);
    auto uD3 = slice<D3F32>(pu, {chunk, kHkv, context}, 0, count);
    auto lD1 = slice<D1I32>(plen, {chunk}, 0, count);
    auto [a, b, c, d, e, f, g, h, i] = stateOf(first, count);
    _mlir_ciface_sparsek_decode_prefill(&kD4, &vD4, &uD3, &lD1, &a, &b, &c,
                                        &d, &e, &f, &g, &h, &i);
  }
  mgpuStreamSynchronize(nullptr);
  double prefillMs = std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - t0)
                         .count();

  // The steps' tokens.
  std::vector<uint16_t> q = bf16(batch * kHq * steps * kD),
                        k = bf16(batch * kHkv * steps * kD),
                        v = bf16(batch * kHkv * steps * kD);
  std::vector<float> u = scores(batch * kHkv * steps);
  auto qD = sparsek::describeDense<D4U16>(toDevice(q), {batch, kHq, steps, kD});
  auto kD4 = sparsek::describeDense<D4U16>(toDevice(k), {batch, kHkv, steps, kD});
  auto vD4 = sparsek::describeDense<D4U16>(toDevice(v), {batch, kHkv, steps, kD});
  auto uD = sparsek::describeDense<D3F32>(toDevice(u), {batch, kHkv, steps});
  auto oD = sparsek::describeDense<D4U16>(
      static_cast<uint16_t *>(deviceAlloc(batch * kHq * steps * kD * 2)),
      {batch, kHq, steps, kD});
  // Steps [first, first + count) as one call: descriptors of that range of
  // the steps' dim (strided views, no copy).
  auto part = [](auto desc, int64_t first, int64_t count) {
    desc.aligned += first * desc.strides[2];
    desc.sizes[2] = count;
    return desc;
  };
  // Calls of at most 1000 steps: the lowered host loop keeps a few
  // descriptor allocas per step on the stack (a 10,000-step call overflows
  // it; bench/NOTES.md run 63).
  auto runSteps = [&] {
    for (int64_t first = 0; first < steps; first += 1000) {
      int64_t count = std::min<int64_t>(1000, steps - first);
      auto q1 = part(qD, first, count), k1 = part(kD4, first, count),
           v1 = part(vD4, first, count), o1 = part(oD, first, count);
      auto u1 = part(uD, first, count);
      auto [a, b, c, d, e, f, g, h, i] = stateOf(0, batch);
      _mlir_ciface_sparsek_decode_steps(&q1, &k1, &v1, &u1, &o1, &a, &b, &c,
                                        &d, &e, &f, &g, &h, &i);
    }
  };

  std::vector<double> outFirst;
  std::vector<double> us;
  int calls = check ? 1 : 4;
  for (int r = 0; r < calls; ++r) {
    auto s0 = std::chrono::steady_clock::now();
    runSteps();
    auto s1 = std::chrono::steady_clock::now();
    if (r > 0 || check)
      us.push_back(std::chrono::duration<double, std::micro>(s1 - s0).count() /
                   double(steps));
  }
  if (sparsekCudaGetStatus() != 0) {
    std::printf("sparsek_gpu_decode B %lld context %lld FAILED %s\n",
                (long long)batch, (long long)context,
                sparsekCudaGetStatusName());
    return 1;
  }
  std::sort(us.begin(), us.end());
  double med = us[us.size() / 2];
  double readMB = double(rows) * kS * 2 * kD * 2 / 1e6;
  // The band: live scores beyond the selection, and overflowed rows.
  std::vector<int32_t> cnt = fromDevice<int32_t>(counts, rows * 3);
  int64_t maxBand = 0, over = 0;
  for (int64_t r = 0; r < rows; ++r) {
    maxBand = std::max<int64_t>(maxBand, cnt[r * 3] + cnt[r * 3 + 1] - kK);
    over += cnt[r * 3 + 2] != 0;
  }
  std::printf("sparsek_gpu_decode%s B %lld context %lld step_us %.2f read_MB "
              "%.2f GBps %.1f prefill_ms %.1f band_max %lld of %lld "
              "overflowed_rows %lld of %lld\n",
              shift ? "_misaligned" : "", (long long)batch, (long long)context,
              med, readMB,
              readMB / 1e3 / (med * 1e-6), prefillMs, (long long)maxBand,
              (long long)kCb, (long long)over, (long long)rows);
  if (!check)
    return 0;

  // The reference: per (sequence, KV head) a DecodeRow over the same prompt
  // (chunk-local sequence b % chunk's data) and the steps' tokens.
  std::vector<uint16_t> hk = fromDevice<uint16_t>(pk, promptKV),
                        hv = fromDevice<uint16_t>(pv, promptKV);
  std::vector<float> hu = fromDevice<float>(pu, promptU);
  std::vector<uint16_t> got =
      fromDevice<uint16_t>(oD.aligned, batch * kHq * steps * kD);
  std::vector<double> gotThr = fromDevice<double>(threshold, rows * 3);
  std::vector<int32_t> gotCnt = fromDevice<int32_t>(counts, rows * 3);
  double scale = sparsek::defaultSoftmaxScale(kD), maxErr = 0, tauErr = 0;
  size_t bad = 0, overflowed = 0;
  const int64_t group = kHq / kHkv;
  const int64_t sampleEvery = std::max<int64_t>(1, steps / 100);
  for (int64_t bi = 0; bi < batch; ++bi)
    for (int64_t g = 0; g < kHkv; ++g) {
      int64_t pr = (bi % chunk) * kHkv + g;
      std::vector<double> kk(context * kD), vv(context * kD), uu(context);
      for (int64_t j = 0; j < context * kD; ++j) {
        kk[j] = sparsek::fromBF16(hk[pr * context * kD + j]);
        vv[j] = sparsek::fromBF16(hv[pr * context * kD + j]);
      }
      for (int64_t j = 0; j < context; ++j)
        uu[j] = hu[pr * context + j];
      sparsek::ref::DecodeRow row(kK, kW, kCb, kD, kD);
      row.prefill(kk.data(), vv.data(), uu.data(), context);
      for (int64_t t = 0; t < steps; ++t) {
        std::vector<double> qg(group * kD), kt(kD), vt(kD);
        for (int64_t h = 0; h < group; ++h)
          for (int64_t c = 0; c < kD; ++c)
            qg[h * kD + c] = sparsek::fromBF16(
                q[((bi * kHq + g * group + h) * steps + t) * kD + c]);
        for (int64_t c = 0; c < kD; ++c) {
          kt[c] = sparsek::fromBF16(k[((bi * kHkv + g) * steps + t) * kD + c]);
          vt[c] = sparsek::fromBF16(v[((bi * kHkv + g) * steps + t) * kD + c]);
        }
        // Every step updates the reference's state; the outputs are
        // compared at about 100 sampled steps (all of them for short runs).
        bool sampled = t % sampleEvery == 0 || t == steps - 1;
        std::vector<double> want =
            row.step(qg.data(), sampled ? group : 0, kt.data(), vt.data(),
                     u[(bi * kHkv + g) * steps + t], scale,
                     sparsek::ref::Gate::KV);
        if (!sampled)
          continue;
        for (int64_t h = 0; h < group; ++h)
          for (int64_t c = 0; c < kD; ++c) {
            double w = want[h * kD + c];
            double gv = sparsek::fromBF16(
                got[((bi * kHq + g * group + h) * steps + t) * kD + c]);
            double err = std::fabs(gv - w);
            maxErr = std::fmax(maxErr, err);
            if (!(err <= 1e-2 + 1e-2 * std::fabs(w)))
              ++bad;
          }
      }
      int64_t r = bi * kHkv + g;
      tauErr = std::fmax(tauErr, std::fabs(gotThr[r * 3] - row.tau()) /
                                     std::fmax(1.0, std::fabs(row.tau())));
      overflowed += row.overflowed();
      if ((gotCnt[r * 3 + 2] != 0) != row.overflowed())
        ++bad;
    }
  bool ok = bad == 0 && tauErr <= 1e-6;
  std::printf("sparsek_gpu_decode check B %lld context %lld steps %lld: %s "
              "(max_err %.3g, tol 1e-2 + 1e-2|ref|; tau rel err %.3g; %zu bad; "
              "%zu of %lld rows overflowed)\n",
              (long long)batch, (long long)context, (long long)steps,
              ok ? "PASS" : "FAIL", maxErr, tauErr, bad, overflowed,
              (long long)rows);
  return ok ? 0 : 1;
}
