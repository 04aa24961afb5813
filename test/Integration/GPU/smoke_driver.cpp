// Calls the GPU smoke kernel (smoke.mlir) and checks every output; also
// checks that a bad module image is reported by name, not by a crash.

#include "sparsek-c/CudaRuntime.h"
#include "sparsek-c/MemRef.h"
#include "sparsek/Support/MemRefDescriptor.h"

#include <cstdio>
#include <vector>

extern "C" void _mlir_ciface_smoke(SparseKMemRef1DF32 *x, SparseKMemRef1DF32 *y);

int main() {
  std::vector<float> x(1024), y(1024, -1.0f);
  for (int i = 0; i < 1024; ++i)
    x[i] = 0.25f * static_cast<float>(i % 17) - 1.0f;
  auto xD = sparsek::describeDense<SparseKMemRef1DF32>(x.data(), {1024});
  auto yD = sparsek::describeDense<SparseKMemRef1DF32>(y.data(), {1024});
  _mlir_ciface_smoke(&xD, &yD);
  if (sparsekCudaGetStatus() != 0) {
    std::printf("GPU smoke FAIL: %s\n", sparsekCudaGetStatusName());
    return 1;
  }
  for (int i = 0; i < 1024; ++i)
    if (y[i] != 2.0f * x[i] + static_cast<float>(i)) {
      std::printf("GPU smoke FAIL at %d: got %g want %g\n", i, y[i],
                  2.0f * x[i] + i);
      return 1;
    }
  std::printf("GPU smoke PASS: 1024 outputs exact\n");
  // A corrupt image: reported with its CUDA error name.
  char junk[64] = "\x7f" "ELF this is not a cubin";
  sparsekCudaSetVerbose(0);
  void *m = mgpuModuleLoad(junk, sizeof(junk));
  std::printf("bad image: module %s, status %s\n", m ? "loaded?!" : "null",
              sparsekCudaGetStatusName());
  return m == nullptr && sparsekCudaGetStatus() != 0 ? 0 : 1;
}
