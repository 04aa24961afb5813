//===- SparseKToLinalg.h - sparsek to linalg conversion ---------*- C++ -*-===//

#ifndef SPARSEK_CONVERSION_SPARSEKTOLINALG_SPARSEKTOLINALG_H
#define SPARSEK_CONVERSION_SPARSEKTOLINALG_SPARSEKTOLINALG_H

#include <cstdint>

namespace mlir {
class RewritePatternSet;
namespace sparsek {

/// Patterns lowering every sparsek op to linalg/tensor/scf/arith/math.
/// `parallelSelection`: thresholds, top-k and block selections in parallel
/// along the row (the GPU's choice) instead of one sequential sweep per row.
/// `fusedBlockSize` > 0: a causal sparsek.attention becomes block selection
/// + block attention over query blocks of that size (the fused path).
void populateSparseKToLinalgConversionPatterns(RewritePatternSet &patterns,
                                               bool parallelSelection = false,
                                               int64_t fusedBlockSize = 0);

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_CONVERSION_SPARSEKTOLINALG_SPARSEKTOLINALG_H
