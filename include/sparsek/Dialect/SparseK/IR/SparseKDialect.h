//===- SparseKDialect.h - sparsek dialect -----------------------*- C++ -*-===//

#ifndef SPARSEK_DIALECT_SPARSEK_IR_SPARSEKDIALECT_H
#define SPARSEK_DIALECT_SPARSEK_IR_SPARSEKDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Dialect.h"

#include "sparsek/Dialect/SparseK/IR/SparseKOpsDialect.h.inc"

#endif // SPARSEK_DIALECT_SPARSEK_IR_SPARSEKDIALECT_H
