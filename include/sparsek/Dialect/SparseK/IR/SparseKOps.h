//===- SparseKOps.h - sparsek operations ------------------------*- C++ -*-===//

#ifndef SPARSEK_DIALECT_SPARSEK_IR_SPARSEKOPS_H
#define SPARSEK_DIALECT_SPARSEK_IR_SPARSEKOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include <optional>

#include "sparsek/Dialect/SparseK/IR/SparseKDialect.h"

#include "sparsek/Dialect/SparseK/IR/SparseKEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "sparsek/Dialect/SparseK/IR/SparseKAttrs.h.inc"

#define GET_OP_CLASSES
#include "sparsek/Dialect/SparseK/IR/SparseKOps.h.inc"

#endif // SPARSEK_DIALECT_SPARSEK_IR_SPARSEKOPS_H
