//===- InitAll.cpp - register everything a sparsek tool needs ---*- C++ -*-===//

#include "sparsek/InitAll.h"
#include "sparsek/Conversion/Passes.h"
#include "sparsek/Dialect/SparseK/IR/SparseKDialect.h"
#include "sparsek/Dialect/SparseK/Transforms/Passes.h"
#include "sparsek/Pipelines/Pipelines.h"
#include "sparsek/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

void mlir::sparsek::registerAllSparseKDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<SparseKDialect>();
}

void mlir::sparsek::registerAllSparseKPasses() {
  registerAllPasses();
  registerSparseKPasses();
  registerSparseKTransformsPasses();
  registerSparseKConversionPasses();
  registerSparseKPipelines();
}

void mlir::sparsek::configureCUDAToolkitPath() {
  for (const char *var : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (std::getenv(var))
      return;
  llvm::ErrorOr<std::string> ptxas = llvm::sys::findProgramByName("ptxas");
  if (!ptxas)
    return;
  // <toolkit>/bin/ptxas
  llvm::StringRef root =
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(*ptxas));
  if (!root.empty())
    setenv("CUDA_HOME", root.str().c_str(), /*overwrite=*/0);
}
