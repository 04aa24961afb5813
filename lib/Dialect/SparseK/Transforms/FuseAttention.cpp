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

struct FuseAttention : OpRewritePattern<AttentionOp> {
  FuseAttention(MLIRContext *ctx, int64_t blockSize)
      : OpRewritePattern<AttentionOp>(ctx), blockSize(blockSize) {}
  int64_t blockSize;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getCausal())
      return rewriter.notifyMatchFailure(op, "non-causal: one selection");
    RankedTensorType uType = op.getU().getType();
    int64_t n = op.getQ().getType().getDimSize(2);
    if (ShapedType::isDynamic(n))
      return rewriter.notifyMatchFailure(op, "dynamic query length N");
    int64_t k = op.getKAttr().getInt();
    int64_t b = uType.getDimSize(0), hkv = uType.getDimSize(1);
    int64_t nb = (n + blockSize - 1) / blockSize;
    Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
    SmallVector<Type> types = {
        RankedTensorType::get({b, hkv, n}, f32),
        RankedTensorType::get({b, hkv, n}, i32),
        RankedTensorType::get({b, hkv, n}, f32),
        RankedTensorType::get({b, hkv, nb, k + blockSize - 1}, i32),
        RankedTensorType::get({b, hkv, nb}, i32)};
    auto bq = rewriter.getI64IntegerAttr(blockSize);
    auto sel = BlockSelectOp::create(rewriter, op.getLoc(), types, op.getU(),
                                     op.getKAttr(), op.getWindowAttr(), bq);
    rewriter.replaceOpWithNewOp<BlockAttentionOp>(
        op, op.getType(), op.getQ(), op.getKey(), op.getValue(), op.getU(),
        sel.getKthScore(), sel.getKthIndex(), sel.getTau(),
        sel.getUnionKeys(), sel.getUnionCount(), op.getWindowAttr(), bq,
        op.getScaleAttr(), op.getGateAttr());
    return success();
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
    patterns.add<FuseAttention>(&getContext(), blockSize);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
