//===- GPUKernelOutlining.cpp - outlining that keeps nvvm.* attributes ----===//
//
// sparsek-gpu-kernel-outlining (Passes.td): upstream gpu-kernel-outlining,
// then each launch's nvvm.* discardable attributes set on the kernel that
// replaced it (upstream drops a launch's attributes).
//
//===----------------------------------------------------------------------===//

#include "sparsek/Transforms/Passes.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKGPUKERNELOUTLININGPASS
#include "sparsek/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;

namespace {

/// A launch's attributes in the nvvm namespace (empty: none).
SmallVector<NamedAttribute> nvvmAttrs(Operation *launch) {
  SmallVector<NamedAttribute> attrs;
  for (NamedAttribute a : launch->getDiscardableAttrs())
    if (a.getName().strref().starts_with("nvvm."))
      attrs.push_back(a);
  return attrs;
}

struct GPUKernelOutlining
    : sparsek::impl::SparseKGPUKernelOutliningPassBase<GPUKernelOutlining> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Per function, its launches' nvvm attributes in walk order.
    DenseMap<Operation *, SmallVector<SmallVector<NamedAttribute>>> byFunc;
    bool any = false;
    module.walk([&](gpu::LaunchOp launch) {
      auto func = launch->getParentOfType<func::FuncOp>();
      if (!func) // upstream outlines launches in functions only
        return;
      auto attrs = nvvmAttrs(launch);
      any |= !attrs.empty();
      byFunc[func].push_back(std::move(attrs));
    });
    OpPassManager pm(ModuleOp::getOperationName());
    pm.addPass(createGpuKernelOutliningPass());
    if (failed(runPipeline(pm, module)))
      return signalPassFailure();
    if (!any)
      return;
    for (auto &[func, list] : byFunc) {
      size_t i = 0;
      WalkResult r = func->walk([&](gpu::LaunchFuncOp call) {
        if (i == list.size())
          return WalkResult::interrupt();
        auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
            call, call.getKernel());
        if (!kernel)
          return WalkResult::interrupt();
        for (NamedAttribute a : list[i++])
          kernel->setAttr(a.getName(), a.getValue());
        return WalkResult::advance();
      });
      if (r.wasInterrupted() || i != list.size()) {
        func->emitError("sparsek-gpu-kernel-outlining: the outlined launches "
                        "do not pair with the launches in order");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
