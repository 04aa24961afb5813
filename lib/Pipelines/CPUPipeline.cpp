//===- CPUPipeline.cpp - sparsek-cpu-pipeline -------------------*- C++ -*-===//
//
// Modelled on upstream's GPUToNVVMPipeline: one function that fills a pass
// manager in stages, and its registration.
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

void mlir::sparsek::buildSparseKBufferizedStages(OpPassManager &pm,
                                                 bool emitCInterface,
                                                 bool forGPU) {
  // C callers also get shape-checked entry points (SPEC section 8).
  if (emitCInterface)
    pm.addPass(createSparseKCheckedEntryPointsPass());

  // sparsek => linalg/tensor/scf on tensors.
  pm.addPass(createConvertSparseKToLinalgPass());
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

void mlir::sparsek::buildSparseKCPUPipeline(
    OpPassManager &pm, const SparseKCPUPipelineOptions &options) {
  // 1-2. sparsek => linalg on tensors => buffers.
  buildSparseKBufferizedStages(pm, options.emitCInterface, /*forGPU=*/false);
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

void mlir::sparsek::registerSparseKPipelines() {
  PassPipelineRegistration<SparseKCPUPipelineOptions>(
      "sparsek-cpu-pipeline",
      "Lower sparsek ops (with func/arith/tensor/linalg/bufferization) to "
      "LLVM dialect for the CPU",
      buildSparseKCPUPipeline);
  // Registered by hand (not PassPipelineRegistration) so that invalid
  // options are an error before any pass is built.
  registerPassPipeline(
      "sparsek-nvvm-pipeline",
      "Lower sparsek ops (with func/arith/tensor/linalg/bufferization) to "
      "host LLVM dialect with NVVM kernels embedded (gpu.binary)",
      [](OpPassManager &pm, StringRef optionsStr,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        SparseKNVVMPipelineOptions options;
        if (failed(options.parseFromString(optionsStr)))
          return failure();
        bool bad = false;
        if (failed(verifySparseKNVVMPipelineOptions(
                options, [&](const Twine &msg) {
                  bad = true;
                  (void)errorHandler("sparsek-nvvm-pipeline: " + msg);
                })) ||
            bad)
          return failure();
        buildSparseKNVVMPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(SparseKNVVMPipelineOptions());
      });
}
