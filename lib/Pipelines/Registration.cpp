//===- Registration.cpp - pipeline registration -----------------------------*- C++ -*-===//
//
// sparsek-cpu-pipeline and sparsek-nvvm-pipeline as pass pipelines
// (the NVVM one validates its options before building any pass).
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
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

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
