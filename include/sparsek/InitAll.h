//===- InitAll.h - register everything a sparsek tool needs -----*- C++ -*-===//

#ifndef SPARSEK_INITALL_H
#define SPARSEK_INITALL_H

namespace mlir {
class DialectRegistry;
namespace sparsek {

/// The sparsek dialect, every upstream dialect and extension, and the
/// translations to LLVM IR: what sparsek-opt, sparsek-compile and
/// sparsek-check parse and lower.
void registerAllSparseKDialects(DialectRegistry &registry);

/// Every upstream pass, the sparsek passes and the sparsek pipelines.
void registerAllSparseKPasses();

/// MLIR's NVVM serialisation finds the CUDA toolkit (libdevice, ptxas)
/// through CUDA_ROOT, CUDA_HOME or CUDA_PATH. When none is set, this sets
/// CUDA_HOME to the toolkit that holds the `ptxas` found on PATH, so that
/// sparsek-nvvm-pipeline links libdevice wherever the toolkit lives.
void configureCUDAToolkitPath();

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_INITALL_H
