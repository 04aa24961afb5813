//===- Passes.h - sparsek's generic passes ----------------------*- C++ -*-===//
//
// Passes of the sparsek pipelines that work on upstream dialects only.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_TRANSFORMS_PASSES_H
#define SPARSEK_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace linalg {
class LinalgDialect;
} // namespace linalg
namespace memref {
class MemRefDialect;
} // namespace memref
namespace scf {
class SCFDialect;
} // namespace scf
namespace arith {
class ArithDialect;
} // namespace arith
namespace gpu {
class GPUDialect;
} // namespace gpu
namespace cf {
class ControlFlowDialect;
} // namespace cf
namespace NVVM {
class NVVMDialect;
} // namespace NVVM

namespace sparsek {

#define GEN_PASS_DECL
#include "sparsek/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sparsek/Transforms/Passes.h.inc"

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_TRANSFORMS_PASSES_H
