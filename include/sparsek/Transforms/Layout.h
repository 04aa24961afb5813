//===- Layout.h - run-time layout checks of memref views --------*- C++ -*-===//
//
// One definition of "this view is a plain buffer" for the checked entry
// points (status 2 for other views) and sparsek-host-buffers-to-gpu
// (gpu.memcpy only for plain views).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_TRANSFORMS_LAYOUT_H
#define SPARSEK_TRANSFORMS_LAYOUT_H

#include "mlir/IR/Builders.h"

namespace mlir::sparsek {

/// An i1 computed at run time: `view` (a memref of any layout) is dense
/// row-major from offset 0. A dimension of size 0 or 1 is never stepped
/// along, so its stride may be anything.
Value isRowMajorAtRunTime(OpBuilder &b, Location loc, Value view);

} // namespace mlir::sparsek

#endif // SPARSEK_TRANSFORMS_LAYOUT_H
