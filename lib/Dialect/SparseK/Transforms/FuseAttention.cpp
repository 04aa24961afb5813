//===- FuseAttention.cpp - sparsek-fuse-attention ---------------*- C++ -*-===//
//
// causal sparsek.attention => sparsek.block_select + sparsek.block_attention
// (Passes.td).
//
//===----------------------------------------------------------------------===//

#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"
#include "sparsek/Dialect/SparseK/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKFUSEATTENTIONPASS
#include "sparsek/Dialect/SparseK/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;
using namespace mlir::sparsek;

namespace {

/// block_select + block_attention in place of `op` (a causal layer or the
/// chain that computes one), over `u` with `k` and `window`; fails (nothing
/// changed) where the block selection cannot hold k (selectionK).
LogicalResult replaceWithBlocks(PatternRewriter &rewriter, Operation *op,
                                Value q, Value key, Value value, Value u,
                                IntegerAttr kAttr, IntegerAttr window,
                                FloatAttr scale, GateAttr gate,
                                int64_t blockSize) {
  auto uType = cast<RankedTensorType>(u.getType());
  std::optional<int64_t> kSel =
      BlockSelectOp::selectionK(uType, kAttr.getInt(), blockSize);
  if (!kSel)
    return rewriter.notifyMatchFailure(
        op, "k + block_size - 1 above 2^30: left unfused");
  IntegerAttr k = rewriter.getI64IntegerAttr(*kSel);
  SmallVector<Type, 5> types = BlockSelectOp::getResultTypesFor(
      uType, cast<RankedTensorType>(q.getType()).getDimSize(2), *kSel,
      blockSize);
  auto bq = rewriter.getI64IntegerAttr(blockSize);
  auto sel =
      BlockSelectOp::create(rewriter, op->getLoc(), types, u,
                                   /*queries=*/Value(), k, window, bq);
  rewriter.replaceOpWithNewOp<BlockAttentionOp>(
      op, op->getResult(0).getType(), q, key, value, u, sel.getKthScore(),
      sel.getKthIndex(), sel.getTau(), sel.getUnionKeys(),
      sel.getUnionCount(), window, bq, scale, gate);
  return success();
}

struct FuseAttention : OpRewritePattern<AttentionOp> {
  FuseAttention(MLIRContext *ctx, int64_t blockSize)
      : OpRewritePattern<AttentionOp>(ctx), blockSize(blockSize) {}
  int64_t blockSize;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getCausal())
      return rewriter.notifyMatchFailure(op, "non-causal: one selection");
    // block_attention has no log-sum-exp: such a layer is lowered whole.
    if (op.getLse())
      return rewriter.notifyMatchFailure(op, "returns its log-sum-exp");
    if (ShapedType::isDynamic(op.getQ().getType().getDimSize(2)))
      return rewriter.notifyMatchFailure(op, "dynamic query length N");
    return replaceWithBlocks(rewriter, op, op.getQ(), op.getKey(),
                             op.getValue(), op.getU(), op.getKAttr(),
                             op.getWindowAttr(), op.getScaleAttr(),
                             op.getGateAttr(), blockSize);
  }
};

/// threshold + topk + gathered_attention over the same scores, k and
/// window: the causal layer written as its stages (what sparsek-decompose
/// produces). The stages' results stay for other users; unused, they are
/// dead (Pure) and go with the next canonicalization.
struct FuseStages : OpRewritePattern<GatheredAttentionOp> {
  FuseStages(MLIRContext *ctx, int64_t blockSize)
      : OpRewritePattern<GatheredAttentionOp>(ctx), blockSize(blockSize) {}
  int64_t blockSize;

  LogicalResult matchAndRewrite(GatheredAttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto topk = op.getIndices().getDefiningOp<TopKOp>();
    auto thr = op.getTau().getDefiningOp<ThresholdOp>();
    if (!topk || !thr)
      return rewriter.notifyMatchFailure(op, "not fed by topk and threshold");
    int64_t window = op.getWindowAttr().getInt();
    if (topk.getU() != op.getU() || thr.getU() != op.getU() ||
        topk.getKAttr() != thr.getKAttr() ||
        topk.getWindowAttr().getInt() != window ||
        thr.getWindowAttr().getInt() != window)
      return rewriter.notifyMatchFailure(
          op, "stages over different scores, k or window");
    if (ShapedType::isDynamic(op.getQ().getType().getDimSize(2)))
      return rewriter.notifyMatchFailure(op, "dynamic query length N");
    return replaceWithBlocks(rewriter, op, op.getQ(), op.getKey(),
                             op.getValue(), op.getU(), topk.getKAttr(),
                             op.getWindowAttr(), op.getScaleAttr(),
                             op.getGateAttr(), blockSize);
  }
};

struct SparseKFuseAttentionPass
    : sparsek::impl::SparseKFuseAttentionPassBase<SparseKFuseAttentionPass> {
  using SparseKFuseAttentionPassBase::SparseKFuseAttentionPassBase;
  void runOnOperation() override {
    if (blockSize < 1 || blockSize > (int64_t(1) << 30)) {
      getOperation()->emitError()
          << "sparsek-fuse-attention: invalid block-size " << blockSize.getValue()
          << ": expected 1 to 2^30 queries per block";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseAttention, FuseStages>(&getContext(), blockSize);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
