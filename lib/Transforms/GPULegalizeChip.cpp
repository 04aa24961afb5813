//===- GPULegalizeChip.cpp - drop Hopper-only hints for older chips -------===//
//
// sparsek-gpu-legalize-chip (Passes.td): the kernel builders emit a few
// instructions that only sm_90 (and a recent PTX ISA) have and that change
// nothing a kernel computes (L1/L2 prefetches, griddepcontrol); for an
// older chip or PTX version this pass removes them, so that the same
// kernels compile there.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/ADT/StringExtras.h"

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
        name.take_while(llvm::isDigit).getAsInteger(10, sm)) {
      getOperation().emitError()
          << "sparsek-gpu-legalize-chip: chip must be sm_<number>, not '"
          << chip << "'";
      return signalPassFailure();
    }
    // griddepcontrol: sm_90 and PTX ISA 7.8; the prefetches as LLVM's
    // NVPTX selects them: sm_90 and PTX ISA 8.0.
    bool keepGridDep = sm >= 90 && ptx >= 78;
    bool keepPrefetch = sm >= 90 && ptx >= 80;
    if (keepGridDep && keepPrefetch)
      return;
    getOperation().walk([&](gpu::GPUModuleOp module) {
      module.walk([&](Operation *op) {
        if ((!keepPrefetch && isa<NVVM::PrefetchOp>(op)) ||
            (!keepGridDep && isa<NVVM::GriddepcontrolOp>(op)))
          op->erase();
      });
    });
  }
};

} // namespace
