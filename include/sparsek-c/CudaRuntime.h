/*===- CudaRuntime.h - sparsek's CUDA runtime library -------------*- C -*-===*\
|*                                                                            *|
|* libsparsek_cuda_runtime implements, on the CUDA driver API alone, the      *|
|* `mgpu*` functions that MLIR's gpu-to-llvm lowering calls (module load,     *|
|* launch, streams, events, device memory). A failing CUDA call is reported   *|
|* on stderr with its CUDA error name and kept as a sticky status: the       *|
|* lowered code cannot see return values, so host programs ask here.          *|
\*===----------------------------------------------------------------------===*/

#ifndef SPARSEK_C_CUDARUNTIME_H
#define SPARSEK_C_CUDARUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The first CUresult other than CUDA_SUCCESS since the last reset (0 when
 * none), and its name ("CUDA_ERROR_..."; "CUDA_SUCCESS" when none). */
int32_t sparsekCudaGetStatus(void);
const char *sparsekCudaGetStatusName(void);
/* Clears the sticky status. */
void sparsekCudaResetStatus(void);
/* 1: report failures on stderr (default); 0: keep quiet. */
void sparsekCudaSetVerbose(int32_t verbose);

#ifdef __cplusplus
}
#endif

#endif /* SPARSEK_C_CUDARUNTIME_H */
