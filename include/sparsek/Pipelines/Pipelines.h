//===- Pipelines.h - sparsek pass pipelines ---------------------*- C++ -*-===//

#ifndef SPARSEK_PIPELINES_PIPELINES_H
#define SPARSEK_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace sparsek {

/// Options of `sparsek-cpu-pipeline`.
struct SparseKCPUPipelineOptions
    : public PassPipelineOptions<SparseKCPUPipelineOptions> {
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Give every public function a C-callable "
                     "_mlir_ciface_ wrapper (llvm.emit_c_interface), and "
                     "destination-passing ones a shape-checked NAME_checked "
                     "entry point returning a status code"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Lower scf.forall to scf.parallel instead of scf.for "
                     "(the loops stay sequential on the CPU either way)"),
      llvm::cl::init(false)};
};

/// sparsek ops mixed with func/arith/tensor/linalg/bufferization on tensors
/// => LLVM dialect that mlir-runner or the AOT compiler can run:
///   1. convert-sparsek-to-linalg, canonicalize, cse
///   2. convert-elementwise-to-linalg, one-shot-bufferize (function
///      boundaries, identity layouts), buffer-deallocation-pipeline,
///      sparsek-expand-memref-copy (no calls into MLIR's runner library)
///   3. scf.forall => scf.for, linalg => loops, affine/strided metadata
///   4. arith (bf16 expanded), math, scf/cf, memref, func, index => LLVM
void buildSparseKCPUPipeline(OpPassManager &pm,
                             const SparseKCPUPipelineOptions &options);

/// Registers `sparsek-cpu-pipeline`.
void registerSparseKPipelines();

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_PIPELINES_PIPELINES_H
