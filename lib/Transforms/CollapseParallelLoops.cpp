//===- CollapseParallelLoops.cpp - scf.parallel in one dimension -*- C++ -*-===//
//
// Every outermost scf.parallel of more than one dimension becomes a
// one-dimensional loop over the product of the dimensions (Passes.td).
//
//===----------------------------------------------------------------------===//

#include "sparsek/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKCOLLAPSEPARALLELLOOPSPASS
#include "sparsek/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;

namespace {

struct SparseKCollapseParallelLoopsPass
    : sparsek::impl::SparseKCollapseParallelLoopsPassBase<
          SparseKCollapseParallelLoopsPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp op) {
      if (op.getNumLoops() > 1 && !op->getParentOfType<scf::ParallelOp>())
        loops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp op : loops) {
      std::vector<unsigned> all(op.getNumLoops());
      for (unsigned i = 0; i < all.size(); ++i)
        all[i] = i;
      rewriter.setInsertionPoint(op);
      collapseParallelLoops(rewriter, op, {all});
    }
  }
};

} // namespace
