//===- sparsek-opt.cpp - sparsek optimizer driver ---------------*- C++ -*-===//
//
// mlir-opt with the sparsek dialect and passes, plus every upstream dialect,
// extension and pass that the sparsek pipelines build on.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Conversion/Passes.h"
#include "sparsek/Dialect/SparseK/IR/SparseKDialect.h"
#include "sparsek/Dialect/SparseK/Transforms/Passes.h"
#include "sparsek/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::sparsek::registerSparseKPasses();
  mlir::sparsek::registerSparseKConversionPasses();
  mlir::sparsek::registerSparseKPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::sparsek::SparseKDialect>();

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "sparsek optimizer driver\n", registry));
}
