//===- GPULegalizeChip.cpp - drop Hopper-only hints for older chips -------===//
//
// sparsek-gpu-legalize-chip (Passes.td): the kernel builders emit a few
// instructions that only sm_90 and newer have and that change nothing a
// kernel computes (L1/L2 prefetches, griddepcontrol); for an older chip
// this pass removes them, so that the same kernels compile there.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKGPULEGALIZECHIPPASS
#include "sparsek/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;

namespace {

struct GPULegalizeChip
    : sparsek::impl::SparseKGPULegalizeChipPassBase<GPULegalizeChip> {
  using Base::Base;

  void runOnOperation() override {
    StringRef name = chip;
    unsigned sm = 0;
    if (!name.consume_front("sm_") || name.empty() ||
        name.take_while([](char c) { return c >= '0' && c <= '9'; })
            .getAsInteger(10, sm)) {
      getOperation().emitError()
          << "sparsek-gpu-legalize-chip: chip must be sm_<number>, not '"
          << chip << "'";
      return signalPassFailure();
    }
    if (sm >= 90)
      return;
    getOperation().walk([](gpu::GPUModuleOp module) {
      module.walk([](Operation *op) {
        if (isa<NVVM::PrefetchOp, NVVM::GriddepcontrolOp>(op))
          op->erase();
      });
    });
  }
};

} // namespace
