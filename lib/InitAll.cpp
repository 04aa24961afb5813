//===- InitAll.cpp - register everything a sparsek tool needs ---*- C++ -*-===//

#include "sparsek/InitAll.h"
#include "sparsek/Conversion/Passes.h"
#include "sparsek/Dialect/SparseK/IR/SparseKDialect.h"
#include "sparsek/Dialect/SparseK/Transforms/Passes.h"
#include "sparsek/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::sparsek::registerAllSparseKDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<SparseKDialect>();
}

void mlir::sparsek::registerAllSparseKPasses() {
  registerAllPasses();
  registerSparseKPasses();
  registerSparseKConversionPasses();
  registerSparseKPipelines();
}
