//===- GPUGridDependency.cpp - kernels that wait for their predecessor ----===//
//
// sparsek-gpu-grid-dependency (Passes.td): every kernel starts with
// griddepcontrol.wait (and, in mode trigger, launch_dependents) unless its
// builder placed its own waits, and each GPU module carries the marker
// global the runtime library looks for before it launches the module's
// kernels with programmatic stream serialization. Mode off removes the
// builders' griddepcontrol operations instead (chips before sm_90).
//
//===----------------------------------------------------------------------===//

#include "sparsek/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKGPUGRIDDEPENDENCYPASS
#include "sparsek/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;

namespace {

/// The marker's name; include/sparsek-c/CudaRuntime.h's runtime looks it up
/// in every module it loads.
constexpr llvm::StringLiteral kMarker = "__sparsek_grid_dependency_wait";

struct GPUGridDependency
    : sparsek::impl::SparseKGPUGridDependencyPassBase<GPUGridDependency> {
  using Base::Base;

  void runOnOperation() override {
    bool trigger;
    if (mode == "trigger")
      trigger = true;
    else if (mode == "wait")
      trigger = false;
    else if (mode == "off") {
      // Kernels launched plainly: their builders' waits and triggers are
      // no-ops there, and the instructions need sm_90.
      getOperation().walk([](gpu::GPUModuleOp module) {
        module.walk([](NVVM::GriddepcontrolOp op) { op.erase(); });
      });
      return;
    } else {
      getOperation().emitError()
          << "sparsek-gpu-grid-dependency: mode must be 'wait', 'trigger' "
             "or 'off', not '"
          << mode << "'";
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    getOperation().walk([&](gpu::GPUModuleOp module) {
      bool any = false;
      for (auto fn : module.getOps<gpu::GPUFuncOp>()) {
        if (!fn.isKernel() || fn.getBody().empty())
          continue;
        any = true;
        // A kernel whose builder placed its own waits (after the work that
        // reads nothing its predecessor writes) keeps them.
        bool ownWait = fn.walk([](NVVM::GriddepcontrolOp op) {
                           return op.getKind() ==
                                          NVVM::GridDepActionKind::wait
                                      ? WalkResult::interrupt()
                                      : WalkResult::advance();
                         }).wasInterrupted();
        OpBuilder b = OpBuilder::atBlockBegin(&fn.getBody().front());
        if (!ownWait)
          NVVM::GriddepcontrolOp::create(b, fn.getLoc(),
                                         NVVM::GridDepActionKind::wait);
        if (trigger)
          NVVM::GriddepcontrolOp::create(
              b, fn.getLoc(), NVVM::GridDepActionKind::launch_dependents);
      }
      if (!any || module.lookupSymbol(kMarker))
        return;
      OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
      auto space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Global);
      auto type = MemRefType::get({1}, b.getI32Type(),
                                  MemRefLayoutAttrInterface{}, space);
      memref::GlobalOp::create(
          b, module.getLoc(), kMarker, b.getStringAttr("public"), type,
          DenseElementsAttr::get(
              RankedTensorType::get({1}, b.getI32Type()),
              b.getI32IntegerAttr(1).getValue()),
          /*constant=*/true, /*alignment=*/nullptr);
    });
  }
};

} // namespace
