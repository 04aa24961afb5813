//===- Passes.h - sparsek conversion passes ---------------------*- C++ -*-===//

#ifndef SPARSEK_CONVERSION_PASSES_H
#define SPARSEK_CONVERSION_PASSES_H

#include "sparsek/Conversion/SparseKToLinalg/SparseKToLinalg.h"

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace sparsek {

#define GEN_PASS_DECL
#include "sparsek/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sparsek/Conversion/Passes.h.inc"

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_CONVERSION_PASSES_H
