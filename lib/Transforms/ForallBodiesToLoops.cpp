//===- ForallBodiesToLoops.cpp - per-thread linalg to loops -----*- C++ -*-===//
//
// linalg ops nested in scf.forall => scf.for loops (Passes.td).
//
//===----------------------------------------------------------------------===//

#include "sparsek/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKFORALLBODIESTOLOOPSPASS
#include "sparsek/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;

namespace {

struct SparseKForallBodiesToLoopsPass
    : sparsek::impl::SparseKForallBodiesToLoopsPassBase<
          SparseKForallBodiesToLoopsPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> inside;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (op->getParentOfType<scf::ForallOp>())
        inside.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : inside) {
      // Loops need buffers: the pass runs after bufferization.
      if (!op.hasPureBufferSemantics()) {
        op->emitError("sparsek-forall-bodies-to-loops expects bufferized "
                      "linalg ops");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToLoops(rewriter, op))) {
        op->emitError("cannot lower this linalg op to loops");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
