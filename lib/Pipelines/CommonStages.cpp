//===- CommonStages.cpp - the pipelines' front -----------------------------*- C++ -*-===//
//
// The stages both pipelines begin with: sparsek => linalg on tensors =>
// buffers (Pipelines.h).
//
//===----------------------------------------------------------------------===//

#include "sparsek/Pipelines/Pipelines.h"
#include "sparsek/Conversion/Passes.h"
#include "sparsek/Dialect/SparseK/Transforms/Passes.h"
#include "sparsek/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::sparsek::buildSparseKBufferizedStages(
    OpPassManager &pm, bool emitCInterface, bool forGPU,
    bool parallelSelection, int64_t fusedBlockSize,
    const ConvertSparseKToGPUPassOptions *tensorCores) {
  // C callers also get shape-checked entry points (SPEC section 8).
  if (emitCInterface)
    pm.addPass(createSparseKCheckedEntryPointsPass());

  // The GPU's fused layers and block attentions as tensor-core kernel
  // launches (what the kernel covers); the rest goes on to linalg.
  if (forGPU && tensorCores)
    pm.addPass(createConvertSparseKToGPUPass(*tensorCores));

  // sparsek => linalg/tensor/scf on tensors.
  ConvertSparseKToLinalgPassOptions lowering;
  lowering.parallelSelection = parallelSelection;
  lowering.gpu = forGPU;
  lowering.fusedBlockSize = fusedBlockSize;
  pm.addPass(createConvertSparseKToLinalgPass(lowering));
  // The GPU pipeline's first decision: every forall iteration (a row, a
  // query) is a block's work. Before canonicalization, which would inline
  // a one-iteration forall into what becomes host code.
  if (forGPU)
    pm.addPass(createSparseKGPUMapForallPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Tensors => buffers with identity layouts at function boundaries.
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  bufferization::OneShotBufferizePassOptions bufOpts;
  bufOpts.bufferizeFunctionBoundaries = true;
  bufOpts.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::FullyDynamicLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufOpts));
  pm.addPass(createCanonicalizerPass());
  bufferization::buildBufferDeallocationPipeline(pm);
}
