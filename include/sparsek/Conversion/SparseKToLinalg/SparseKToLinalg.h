//===- SparseKToLinalg.h - sparsek to linalg conversion ---------*- C++ -*-===//

#ifndef SPARSEK_CONVERSION_SPARSEKTOLINALG_SPARSEKTOLINALG_H
#define SPARSEK_CONVERSION_SPARSEKTOLINALG_SPARSEKTOLINALG_H

namespace mlir {
class RewritePatternSet;
namespace sparsek {

/// Patterns lowering every sparsek op to linalg/tensor/scf/arith/math.
void populateSparseKToLinalgConversionPatterns(RewritePatternSet &patterns);

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_CONVERSION_SPARSEKTOLINALG_SPARSEKTOLINALG_H
