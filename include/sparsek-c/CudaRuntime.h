/*===- CudaRuntime.h - sparsek's CUDA runtime library -------------*- C -*-===*\
|*                                                                            *|
|* libsparsek_cuda_runtime implements, on the CUDA driver API alone, the      *|
|* `mgpu*` functions that MLIR's gpu-to-llvm lowering calls (module load,     *|
|* launch, streams, events, device memory). A failing CUDA call is reported   *|
|* on stderr with its CUDA error name and kept as a sticky status: the       *|
|* lowered code cannot see return values, so host programs ask here.          *|
|*                                                                            *|
|* The driver (libcuda.so.1) is loaded on first use, not at link time: the    *|
|* library and everything compiled against it load on machines without a     *|
|* GPU, where every call fails with status CUDA_ERROR_NO_DEVICE (100).        *|
|*                                                                            *|
|* This header is the one declaration of the ABI: tools, tests, examples and  *|
|* benchmarks include it instead of declaring `mgpu*` by hand. Handles are    *|
|* opaque pointers (CUmodule, CUfunction, CUstream, CUevent).                 *|
\*===----------------------------------------------------------------------===*/

#ifndef SPARSEK_C_CUDARUNTIME_H
#define SPARSEK_C_CUDARUNTIME_H

#include "sparsek-c/MemRef.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*===-- Status --------------------------------------------------------------===*/

/* The first CUresult other than CUDA_SUCCESS since the last reset (0 when
 * none), and its name ("CUDA_ERROR_..."; "CUDA_SUCCESS" when none). */
int32_t sparsekCudaGetStatus(void);
const char *sparsekCudaGetStatusName(void);
/* Clears the sticky status. */
void sparsekCudaResetStatus(void);
/* 1: report failures on stderr (default); 0: keep quiet. */
void sparsekCudaSetVerbose(int32_t verbose);
/* 1 when libcuda.so.1 could be loaded (tries once), else 0. */
int32_t sparsekCudaDriverAvailable(void);

/*===-- The caller's stream and workspace ----------------------------------===*/

/* A framework calls compiled sparsek code on its own stream, with scratch
 * from its own allocator, and may capture the call in a CUDA graph:
 *
 *   sparsekCudaBeginCall(stream, workspace, workspaceBytes);
 *   status = _mlir_ciface_NAME_checked(...);
 *   needed = sparsekCudaEndCall();
 *
 * Between the two calls, in this thread only:
 * - the compiled host code runs on `stream` (a CUstream of the default
 *   device's primary context; NULL is the legacy stream) instead of one of
 *   its own, and does not synchronize it: the results are ready in `stream`'s
 *   order, like any kernel the caller launches there. Nothing in the call
 *   synchronizes the host or loads a module (modules load when the library
 *   is loaded), so the call can be captured;
 * - its device scratch is carved from `workspace` (`workspaceBytes` bytes of
 *   device memory, ordered on `stream`; NULL/0 for none): a stack of
 *   256-byte-aligned buffers, a freed one reused by later work of the same
 *   call. What does not fit comes from the device's stream-ordered pool on
 *   `stream` (capturable as well).
 * sparsekCudaEndCall returns the workspace size that would have held all of
 * the call's scratch: a caller that keeps it per shape passes a workspace
 * that fits from the second call on. The workspace must stay allocated until
 * the call's work on `stream` is done (a stream-ordered allocator that
 * freed it on `stream` does that). */
void sparsekCudaBeginCall(void *stream, void *workspace,
                          uint64_t workspaceBytes);
uint64_t sparsekCudaEndCall(void);

/*===-- The mgpu* ABI of MLIR's gpu-to-llvm lowering -----------------------===*/

void mgpuSetDefaultDevice(int32_t device);
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
/* A kernel of a module that holds the global `__sparsek_grid_dependency_wait`
 * (every kernel of it waits for its stream predecessor first:
 * sparsek-gpu-grid-dependency) is launched with programmatic stream
 * serialization on devices of compute capability 9.0 and newer, unless the
 * environment sets SPARSEK_PDL=0; any other kernel by cuLaunchKernel. */
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount);

void *mgpuStreamCreate(void);
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate(void);
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);

void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared);
void mgpuMemFree(void *ptr, void *stream);
void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);
void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream);
void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  void *stream);
void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes);
void mgpuMemHostUnregister(void *ptr);
void mgpuMemHostRegisterMemRef(int64_t rank, SparseKMemRefAnyRank *desc,
                               int64_t elementSizeBytes);
void mgpuMemHostUnregisterMemRef(int64_t rank, SparseKMemRefAnyRank *desc,
                                 int64_t elementSizeBytes);

#ifdef __cplusplus
}
#endif

#endif /* SPARSEK_C_CUDARUNTIME_H */
