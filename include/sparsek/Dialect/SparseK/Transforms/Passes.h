//===- Passes.h - sparsek transformation passes -----------------*- C++ -*-===//

#ifndef SPARSEK_DIALECT_SPARSEK_TRANSFORMS_PASSES_H
#define SPARSEK_DIALECT_SPARSEK_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace arith {
class ArithDialect;
} // namespace arith
namespace bufferization {
class BufferizationDialect;
} // namespace bufferization
namespace linalg {
class LinalgDialect;
} // namespace linalg
namespace memref {
class MemRefDialect;
} // namespace memref
namespace scf {
class SCFDialect;
} // namespace scf
namespace tensor {
class TensorDialect;
} // namespace tensor

namespace sparsek {

#define GEN_PASS_DECL
#include "sparsek/Dialect/SparseK/Transforms/Passes.h.inc"

/// Adds the patterns of `sparsek-decompose` to `patterns`.
void populateSparseKDecomposePatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "sparsek/Dialect/SparseK/Transforms/Passes.h.inc"

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_DIALECT_SPARSEK_TRANSFORMS_PASSES_H
