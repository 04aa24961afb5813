//===- ShapeConstraints.h - size rules of sparsek ops -----------*- C++ -*-===//
//
// Every rule that relates the sizes of a sparsek op's operands and results
// (SPEC section 8), as data: the verifiers check those whose sizes are
// static, and sparsek-checked-entry-points checks all of them at run time,
// on dynamic sizes too. One list, so the two can never disagree.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_DIALECT_SPARSEK_IR_SHAPECONSTRAINTS_H
#define SPARSEK_DIALECT_SPARSEK_IR_SHAPECONSTRAINTS_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::sparsek {

/// Dimension `dim` of the tensor `value`, which diagnostics call `name`.
struct DimRef {
  Value value;
  unsigned dim = 0;
  std::string name;
  /// The static size, or ShapedType::kDynamic.
  int64_t staticSize() const;
};

struct ShapeConstraint {
  enum class Kind {
    Equal,     // a == b                       ("<what> mismatch: ...")
    LessEqual, // a <= b (N <= M)
    Multiple,  // a % b == 0, and a == 0 where b == 0 (GQA)
    AtLeast,   // a >= c                       ("<what> must be >= c")
    EqualTo,   // a == c                       ("<what> = c")
    BlocksOf,  // a == ceil(b / c)             (query blocks of c queries)
  };
  Kind kind;
  std::string what;
  DimRef a, b;
  int64_t c = 0;

  /// Whether the rule holds for sizes x (of a) and y (of b).
  bool holds(int64_t x, int64_t y) const;
  /// The diagnostic for sizes x and y breaking the rule.
  std::string message(int64_t x, int64_t y) const;
};

/// The size rules of a sparsek op (empty for other ops). Only meaningful
/// once ranks and element types are right (the verifiers check those
/// first).
SmallVector<ShapeConstraint> getShapeConstraints(Operation *op);

/// Emits the first rule broken by static sizes; success if none.
LogicalResult verifyStaticShapeConstraints(Operation *op);

} // namespace mlir::sparsek

#endif // SPARSEK_DIALECT_SPARSEK_IR_SHAPECONSTRAINTS_H
