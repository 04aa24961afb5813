//===- sparsek-opt.cpp - sparsek optimizer driver ---------------*- C++ -*-===//
//
// mlir-opt with the sparsek dialect and passes, plus every upstream dialect,
// extension and pass that the sparsek pipelines build on.
//
//===----------------------------------------------------------------------===//

#include "sparsek/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::sparsek::configureCUDAToolkitPath();
  mlir::sparsek::registerAllSparseKPasses();
  mlir::DialectRegistry registry;
  mlir::sparsek::registerAllSparseKDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "sparsek optimizer driver\n", registry));
}
