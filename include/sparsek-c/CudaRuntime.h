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

/*===-- The mgpu* ABI of MLIR's gpu-to-llvm lowering -----------------------===*/

void mgpuSetDefaultDevice(int32_t device);
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
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
