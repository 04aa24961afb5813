/* Loads a shared library built by `sparsek-compile --target=cuda` in a fresh
 * process with dlopen alone (no preloading, no LD_LIBRARY_PATH): the
 * library must name libsparsek_cuda_runtime.so and find it through its
 * rpath. Then calls the layer's checked entry point with a query length it
 * was not compiled for, which must return 1 without touching the GPU, and
 * reports whether a CUDA driver is there. On a GPU machine it also runs the
 * layer with the compiled shapes on device buffers (status 0, no CUDA error).
 *
 *   dlopen_layer LIB.so   ->  "dlopen OK", "bad shape: status 1", ... */

#include "sparsek-c/CudaRuntime.h"
#include "sparsek-c/MemRef.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef int32_t (*LayerFn)(SparseKMemRef4DU16 *, SparseKMemRef4DU16 *,
                           SparseKMemRef4DU16 *, SparseKMemRef3DF32 *,
                           SparseKMemRef4DU16 *);

static SparseKMemRef4DU16 dense4(uint16_t *p, int64_t a, int64_t b, int64_t c,
                                 int64_t d) {
  SparseKMemRef4DU16 m = {p, p, 0, {a, b, c, d}, {b * c * d, c * d, d, 1}};
  return m;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: dlopen_layer LIB.so\n");
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    printf("dlopen FAILED: %s\n", dlerror());
    return 1;
  }
  printf("dlopen OK\n");
  /* Everything through the handle: the runtime is the library's
   * dependency, not this program's. */
  LayerFn layer = (LayerFn)dlsym(lib, "_mlir_ciface_sparsek_layer_checked");
#define GET(name) __typeof__(&name) p_##name = (__typeof__(&name))dlsym(lib, #name)
  GET(sparsekCudaDriverAvailable);
  GET(sparsekCudaGetStatus);
  GET(sparsekCudaGetStatusName);
  GET(mgpuMemAlloc);
  GET(mgpuMemset16);
  GET(mgpuMemset32);
  GET(mgpuMemcpy);
  GET(mgpuStreamSynchronize);
  if (!layer || !p_sparsekCudaDriverAvailable || !p_mgpuMemAlloc ||
      !p_mgpuMemcpy || !p_mgpuMemset16 || !p_mgpuMemset32 ||
      !p_mgpuStreamSynchronize || !p_sparsekCudaGetStatus ||
      !p_sparsekCudaGetStatusName) {
    printf("dlsym FAILED\n");
    return 1;
  }
  /* examples/layer.mlir: q [2, 8, 1024, 64], key/value [2, 2, 1024, 64],
   * u [2, 2, 1024], out [2, 8, 1024, 64], f16. No buffer is read when the
   * shape is refused, so null pointers are fine. */
  SparseKMemRef4DU16 q = dense4(0, 2, 8, 512, 64), k = dense4(0, 2, 2, 1024, 64),
                     v = dense4(0, 2, 2, 1024, 64), o = dense4(0, 2, 8, 1024, 64);
  SparseKMemRef3DF32 u = {0, 0, 0, {2, 2, 1024}, {2048, 1024, 1}};
  printf("bad shape: status %d\n", layer(&q, &k, &v, &u, &o));
  printf("driver: %s\n", p_sparsekCudaDriverAvailable() ? "present" : "absent");
  if (!p_sparsekCudaDriverAvailable())
    return 0;
  /* With a GPU: the compiled shapes on device buffers of zeros. */
  size_t nq = 2 * 8 * 1024 * 64, nk = 2 * 2 * 1024 * 64, nu = 2 * 2 * 1024;
  uint16_t *dq = p_mgpuMemAlloc(nq * 2, 0, false), *dk = p_mgpuMemAlloc(nk * 2, 0, false),
           *dv = p_mgpuMemAlloc(nk * 2, 0, false), *dout = p_mgpuMemAlloc(nq * 2, 0, false);
  float *du = p_mgpuMemAlloc(nu * 4, 0, false);
  p_mgpuMemset16(dq, 0x3c00, nq, 0); /* 1.0 */
  p_mgpuMemset16(dk, 0x3c00, nk, 0);
  p_mgpuMemset16(dv, 0x3c00, nk, 0);
  p_mgpuMemset32(du, 0, nu, 0);
  q = dense4(dq, 2, 8, 1024, 64);
  k = dense4(dk, 2, 2, 1024, 64);
  v = dense4(dv, 2, 2, 1024, 64);
  o = dense4(dout, 2, 8, 1024, 64);
  SparseKMemRef3DF32 ud = {du, du, 0, {2, 2, 1024}, {2048, 1024, 1}};
  int32_t st = layer(&q, &k, &v, &ud, &o);
  uint16_t first = 0;
  p_mgpuMemcpy(&first, dout, 2, 0);
  p_mgpuStreamSynchronize(0);
  printf("compiled shape: status %d, out[0] = 0x%04x (1.0 is 0x3c00), CUDA %s\n",
         st, first, p_sparsekCudaGetStatusName());
  return st == 0 && first == 0x3c00 && p_sparsekCudaGetStatus() == 0 ? 0 : 1;
}
