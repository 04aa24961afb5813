//===- gpu-grid.cpp - sparsek-check's grids on the GPU ----------*- C++ -*-===//
//
// Runs a built-in grid (Cases.h) with kernels compiled ahead of time for
// CUDA: `sparsek-check --grid=G --emit-module=grid.mlir`, then
// `sparsek-compile --target=cuda grid.mlir -o grid.o`, linked here
// (scripts/device-build.sh). Each case regenerates its inputs and reference
// exactly as sparsek-check does on the CPU, copies them to device memory,
// calls `_mlir_ciface_case_<i>`, and compares every output element.
// Needs no LLVM or MLIR: the device machine has neither. Built by the
// sparsek-device target (tools/sparsek-gpu-grid/CMakeLists.txt).
//
//   gpu-grid [grid]   ->  one PASS/FAIL line per case, "N passed, N failed"
//                         (the kernels are those of grid "all")
//
//===----------------------------------------------------------------------===//

#include "../sparsek-check/Cases.h"
#include "sparsek-c/CudaRuntime.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

using namespace sparsek::check;

namespace {

/// Calls an entry point taking `a.size()` descriptor pointers (1 to 10,
/// or 12: a decode case's prompt, steps and four outputs).
bool call(void *fn, const std::vector<void *> &a) {
  using P = void *;
  P x[12] = {};
  if (a.empty() || a.size() > 12)
    return false;
  std::copy(a.begin(), a.end(), x);
  switch (a.size()) {
  case 1:
    reinterpret_cast<void (*)(P)>(fn)(x[0]);
    return true;
  case 2:
    reinterpret_cast<void (*)(P, P)>(fn)(x[0], x[1]);
    return true;
  case 3:
    reinterpret_cast<void (*)(P, P, P)>(fn)(x[0], x[1], x[2]);
    return true;
  case 4:
    reinterpret_cast<void (*)(P, P, P, P)>(fn)(x[0], x[1], x[2], x[3]);
    return true;
  case 5:
    reinterpret_cast<void (*)(P, P, P, P, P)>(fn)(x[0], x[1], x[2], x[3], x[4]);
    return true;
  case 6:
    reinterpret_cast<void (*)(P, P, P, P, P, P)>(fn)(x[0], x[1], x[2], x[3],
                                                     x[4], x[5]);
    return true;
  case 7:
    reinterpret_cast<void (*)(P, P, P, P, P, P, P)>(fn)(x[0], x[1], x[2], x[3],
                                                        x[4], x[5], x[6]);
    return true;
  case 8:
    reinterpret_cast<void (*)(P, P, P, P, P, P, P, P)>(fn)(
        x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]);
    return true;
  case 9:
    reinterpret_cast<void (*)(P, P, P, P, P, P, P, P, P)>(fn)(
        x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8]);
    return true;
  case 10:
    reinterpret_cast<void (*)(P, P, P, P, P, P, P, P, P, P)>(fn)(
        x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9]);
    return true;
  case 11: // attention_backward given lse: 7 inputs, 4 outputs
    reinterpret_cast<void (*)(P, P, P, P, P, P, P, P, P, P, P)>(fn)(
        x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10]);
    return true;
  case 12: // decode: prompt and steps (8 inputs), 4 outputs
    reinterpret_cast<void (*)(P, P, P, P, P, P, P, P, P, P, P, P)>(fn)(
        x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10],
        x[11]);
    return true;
  default:
    return false;
  }
}

/// Runs case `index` on the GPU and verifies it; a deterministic case
/// (`repeat` > 1) runs `repeat` times and must give the same bits.
bool runOnGPU(size_t index, Prepared &p, std::string &detail,
              int repeat = 1) {
  std::string name = "_mlir_ciface_case_" + std::to_string(index);
  void *fn = dlsym(RTLD_DEFAULT, name.c_str());
  if (!fn) {
    detail = "no entry point " + name;
    return false;
  }
  std::vector<Buffer *> all;
  for (auto &in : p.kernel.inputs)
    all.push_back(in.second);
  for (Buffer *out : p.kernel.outputs) {
    poison(*out);
    all.push_back(out);
  }
  std::vector<void *> devs;
  std::vector<SparseKMemRefAnyRank> descs;
  descs.reserve(all.size());
  for (Buffer *b : all) {
    void *dev = mgpuMemAlloc(b->bytes.size(), nullptr, false);
    mgpuMemcpy(dev, b->bytes.data(), b->bytes.size(), nullptr);
    devs.push_back(dev);
    descs.push_back(describe(*b, dev));
  }
  std::vector<void *> args;
  for (SparseKMemRefAnyRank &d : descs)
    args.push_back(&d);
  sparsekCudaResetStatus();
  bool called = true;
  std::vector<std::vector<uint8_t>> firstRun;
  bool same = true;
  for (int r = 0; r < repeat && called; ++r) {
    called = call(fn, args);
    for (size_t i = p.kernel.inputs.size(); i < all.size(); ++i)
      mgpuMemcpy(all[i]->bytes.data(), devs[i], all[i]->bytes.size(),
                 nullptr);
    mgpuStreamSynchronize(nullptr);
    for (size_t i = p.kernel.inputs.size(); i < all.size(); ++i) {
      if (r == 0)
        firstRun.push_back(all[i]->bytes);
      else if (all[i]->bytes != firstRun[i - p.kernel.inputs.size()])
        same = false;
    }
  }
  for (void *d : devs)
    mgpuMemFree(d, nullptr);
  if (!called) {
    detail = "unexpected argument count " + std::to_string(args.size());
    return false;
  }
  if (sparsekCudaGetStatus() != 0) {
    detail = std::string("CUDA error ") + sparsekCudaGetStatusName();
    return false;
  }
  if (!same) {
    detail = "not bitwise the same over " + std::to_string(repeat) + " runs";
    return false;
  }
  bool ok = verify(p, detail);
  if (ok && repeat > 1)
    detail += " (bitwise the same over " + std::to_string(repeat) + " runs)";
  return ok;
}

} // namespace

int main(int argc, char **argv) {
  // The kernels are those of the whole grid ("all", case_<index>); a
  // smaller grid runs its own cases, found in the whole one.
  std::vector<Case> cases = grid(argc > 1 ? argv[1] : "all");
  if (cases.empty()) {
    std::fprintf(stderr, "gpu-grid: unknown grid\n");
    return 2;
  }
  std::string missing;
  std::vector<size_t> index = indicesInAll(cases, missing);
  if (index.empty()) {
    std::fprintf(stderr, "gpu-grid: case not in the compiled grid: %s\n",
                 missing.c_str());
    return 2;
  }
  int passed = 0, failed = 0, skipped = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (!runsOnGPU(cases[i])) { // CPU-only: no kernel was compiled
      ++skipped;
      continue;
    }
    Prepared p = prepare(cases[i]);
    std::string detail;
    bool ok = runOnGPU(index[i], p, detail, cases[i].deterministic ? 3 : 1);
    (ok ? passed : failed)++;
    std::printf("%s gpu %s %s\n", ok ? "PASS" : "FAIL",
                describe(cases[i]).c_str(), detail.c_str());
  }
  if (skipped)
    std::printf("%d CPU-only cases skipped\n", skipped);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
