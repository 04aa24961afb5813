/*===- MemRef.h - memref descriptors for sparsek entry points -----*- C -*-===*\
|*                                                                            *|
|* Functions compiled by sparsek-compile are called through MLIR's C          *|
|* interface (llvm.emit_c_interface): `_mlir_ciface_NAME` takes one pointer   *|
|* to a ranked memref descriptor per memref argument, in order; a function    *|
|* that returns a memref takes a pointer to the result descriptor first.      *|
|* See docs/CallingConvention.md.                                             *|
\*===----------------------------------------------------------------------===*/

#ifndef SPARSEK_C_MEMREF_H
#define SPARSEK_C_MEMREF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A ranked memref descriptor of rank R over elements of type T: the
 * allocated and aligned base pointers, the element offset, then R sizes and
 * R strides (in elements). Identical to MLIR's StridedMemRefType<T, R>. */
#define SPARSEK_MEMREF_DESCRIPTOR(NAME, T, R)                                  \
  typedef struct NAME {                                                        \
    T *allocated;                                                              \
    T *aligned;                                                                \
    int64_t offset;                                                            \
    int64_t sizes[R];                                                          \
    int64_t strides[R];                                                        \
  } NAME

/* Element types: f32 is float; f16 and bf16 are their 16-bit patterns. */
SPARSEK_MEMREF_DESCRIPTOR(SparseKMemRef1DF32, float, 1);
SPARSEK_MEMREF_DESCRIPTOR(SparseKMemRef3DF32, float, 3);
SPARSEK_MEMREF_DESCRIPTOR(SparseKMemRef4DF32, float, 4);
SPARSEK_MEMREF_DESCRIPTOR(SparseKMemRef3DU16, uint16_t, 3);
SPARSEK_MEMREF_DESCRIPTOR(SparseKMemRef4DU16, uint16_t, 4);
SPARSEK_MEMREF_DESCRIPTOR(SparseKMemRef3DI32, int32_t, 3);
SPARSEK_MEMREF_DESCRIPTOR(SparseKMemRef4DI32, int32_t, 4);
/* The decode state's (sparsek.decode_step): per-sequence lengths, the
 * threshold's f64 sums. */
SPARSEK_MEMREF_DESCRIPTOR(SparseKMemRef1DI32, int32_t, 1);
SPARSEK_MEMREF_DESCRIPTOR(SparseKMemRef3DF64, double, 3);

/* A descriptor whose rank is known only at run time (at most
 * SPARSEK_MEMREF_MAX_RANK): sizes_and_strides[0, R) are the sizes and
 * [R, 2R) the strides. A pointer to it may be passed wherever a rank-R
 * descriptor is expected (the callee reads only its first 2R entries). */
#define SPARSEK_MEMREF_MAX_RANK 8
typedef struct SparseKMemRefAnyRank {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes_and_strides[2 * SPARSEK_MEMREF_MAX_RANK];
} SparseKMemRefAnyRank;

#ifdef __cplusplus
}
#endif

#endif /* SPARSEK_C_MEMREF_H */
