//===- CPUPipeline.cpp - sparsek-cpu-pipeline -------------------*- C++ -*-===//
//
// Modelled on upstream's GPUToNVVMPipeline: one function that fills a pass
// manager in stages (the common front: CommonStages.cpp; registration:
// Registration.cpp).
//
//===----------------------------------------------------------------------===//

#include "sparsek/Pipelines/Pipelines.h"
#include "sparsek/Conversion/Passes.h"
#include "sparsek/Dialect/SparseK/Transforms/Passes.h"
#include "sparsek/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::sparsek::buildSparseKCPUPipeline(
    OpPassManager &pm, const SparseKCPUPipelineOptions &options) {
  // 1-2. sparsek => linalg on tensors => buffers.
  buildSparseKBufferizedStages(pm, options.emitCInterface, /*forGPU=*/false,
                               options.parallelSelection,
                               options.fusedBlockSize);
  // Copies of dynamic shapes would call MLIR's runner library.
  pm.addPass(createSparseKExpandMemRefCopyPass());

  // 3. Structured ops => loops.
  if (options.parallel)
    pm.addPass(createForallToParallelLoopPass());
  else
    pm.addPass(createForallToForLoopPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());

  // 4. Everything => LLVM.
  arith::ArithExpandOpsPassOptions expandOpts;
  expandOpts.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expandOpts));
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  if (options.emitCInterface)
    pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
