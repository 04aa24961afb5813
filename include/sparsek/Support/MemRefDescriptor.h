//===- MemRefDescriptor.h - fill C memref descriptors -----------*- C++ -*-===//
//
// C++ convenience over include/sparsek-c/MemRef.h: a dense row-major
// descriptor for a host buffer, for programs that call compiled entry points.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_SUPPORT_MEMREFDESCRIPTOR_H
#define SPARSEK_SUPPORT_MEMREFDESCRIPTOR_H

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

} // namespace sparsek

#endif // SPARSEK_SUPPORT_MEMREFDESCRIPTOR_H
