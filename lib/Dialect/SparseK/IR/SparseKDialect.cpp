//===- SparseKDialect.cpp - sparsek dialect ---------------------*- C++ -*-===//

#include "sparsek/Dialect/SparseK/IR/SparseKDialect.h"
#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sparsek;

#include "sparsek/Dialect/SparseK/IR/SparseKOpsDialect.cpp.inc"
#include "sparsek/Dialect/SparseK/IR/SparseKEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "sparsek/Dialect/SparseK/IR/SparseKAttrs.cpp.inc"

void SparseKDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "sparsek/Dialect/SparseK/IR/SparseKOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "sparsek/Dialect/SparseK/IR/SparseKAttrs.cpp.inc"
      >();
}

Operation *SparseKDialect::materializeConstant(OpBuilder &builder,
                                               Attribute value, Type type,
                                               Location loc) {
  // Folds only ever produce dense splats (see SparseKFolds.cpp).
  return arith::ConstantOp::materialize(builder, value, type, loc);
}
