//===- SparseKToLinalg.h - sparsek to linalg conversion ---------*- C++ -*-===//

#ifndef SPARSEK_CONVERSION_SPARSEKTOLINALG_SPARSEKTOLINALG_H
#define SPARSEK_CONVERSION_SPARSEKTOLINALG_SPARSEKTOLINALG_H

namespace mlir {
class RewritePatternSet;
namespace sparsek {

/// Patterns lowering every sparsek op to linalg/tensor/scf/arith/math.
/// `parallelSelection`: thresholds, top-k and block selections in parallel
/// along the row (the GPU's choice) instead of one sequential sweep per row.
void populateSparseKToLinalgConversionPatterns(RewritePatternSet &patterns,
                                               bool parallelSelection = false);

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_CONVERSION_SPARSEKTOLINALG_SPARSEKTOLINALG_H
