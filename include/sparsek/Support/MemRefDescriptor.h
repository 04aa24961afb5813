//===- MemRefDescriptor.h - fill C memref descriptors -----------*- C++ -*-===//
//
// C++ convenience over include/sparsek-c/MemRef.h (the one definition of
// the descriptors): dense row-major descriptors for a buffer, for programs
// that call compiled entry points.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_SUPPORT_MEMREFDESCRIPTOR_H
#define SPARSEK_SUPPORT_MEMREFDESCRIPTOR_H

#include "sparsek-c/MemRef.h"

#include <cstdint>
#include <initializer_list>

namespace sparsek {

/// A descriptor of type `Desc` (e.g. SparseKMemRef4DF32) for the dense
/// row-major buffer `data` whose sizes are `shape` (any range of int64_t).
template <typename Desc, typename T, typename Shape>
Desc describeDense(T *data, const Shape &shape) {
  Desc d{data, data, 0, {}, {}};
  int r = 0;
  for (int64_t s : shape)
    d.sizes[r++] = s;
  int64_t stride = 1;
  for (int i = r - 1; i >= 0; --i) {
    d.strides[i] = stride;
    stride *= d.sizes[i];
  }
  return d;
}

template <typename Desc, typename T>
Desc describeDense(T *data, std::initializer_list<int64_t> shape) {
  return describeDense<Desc, T, std::initializer_list<int64_t>>(data, shape);
}

/// A descriptor of any rank up to SPARSEK_MEMREF_MAX_RANK (the rank is the
/// shape's length) for the dense row-major buffer `data`.
template <typename Shape>
SparseKMemRefAnyRank describeDenseAnyRank(void *data, const Shape &shape) {
  SparseKMemRefAnyRank d{data, data, 0, {}};
  int64_t r = 0;
  for (int64_t s : shape)
    d.sizes_and_strides[r++] = s;
  int64_t stride = 1;
  for (int64_t i = r - 1; i >= 0; --i) {
    d.sizes_and_strides[r + i] = stride;
    stride *= d.sizes_and_strides[i];
  }
  return d;
}

} // namespace sparsek

#endif // SPARSEK_SUPPORT_MEMREFDESCRIPTOR_H
