//===- Decompose.cpp - sparsek.attention into its stages --------*- C++ -*-===//
//
// sparsek.attention => sparsek.threshold + sparsek.topk +
// sparsek.gathered_attention (SPEC section 6). See Passes.td for the rewrite.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"
#include "sparsek/Dialect/SparseK/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKDECOMPOSEPASS
#include "sparsek/Dialect/SparseK/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;
using namespace mlir::sparsek;

namespace {

/// The size of dim `d` of `v` as an OpFoldResult (static or tensor.dim).
OpFoldResult dimOf(OpBuilder &b, Location loc, Value v, int64_t d) {
  return tensor::getMixedSize(b, loc, v, d);
}

/// Broadcasts `src : [B, Hkv, 1, ...rest]` to `[B, Hkv, n, ...rest]`.
Value broadcastQueries(OpBuilder &b, Location loc, Value src,
                       OpFoldResult n) {
  auto srcType = cast<RankedTensorType>(src.getType());
  int64_t rank = srcType.getRank();
  // Drop the unit query dim: [B, Hkv, 1, ...] -> [B, Hkv, ...].
  SmallVector<ReassociationIndices> reassoc = {{0}, {1, 2}};
  for (int64_t d = 3; d < rank; ++d)
    reassoc.push_back({d});
  Value collapsed = tensor::CollapseShapeOp::create(b, loc, src, reassoc);
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(d == 2 ? n : dimOf(b, loc, src, d));
  Value init =
      tensor::EmptyOp::create(b, loc, sizes, srcType.getElementType());
  return linalg::BroadcastOp::create(b, loc, collapsed, init,
                                     ArrayRef<int64_t>{2})
      ->getResult(0);
}

struct DecomposeAttention : OpRewritePattern<AttentionOp> {
  // Above convert-sparsek-to-linalg's direct lowering of the layer, which
  // includes these patterns: the non-causal layer is written once, here.
  DecomposeAttention(MLIRContext *ctx)
      : OpRewritePattern<AttentionOp>(ctx, /*benefit=*/2) {}

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    // The stages have no log-sum-exp: a layer that returns one is lowered
    // whole (convert-sparsek-to-linalg, convert-sparsek-to-gpu).
    if (op.getLse())
      return rewriter.notifyMatchFailure(op, "returns its log-sum-exp");
    RankedTensorType qType = op.getQ().getType();
    RankedTensorType uType = op.getU().getType();
    int64_t n = qType.getDimSize(2);
    // threshold/topk learn N from their result types only: a causal layer
    // needs a static N (the non-causal selection is that of one query).
    if (op.getCausal() && ShapedType::isDynamic(n))
      return rewriter.notifyMatchFailure(op, "causal, dynamic query length N");

    Location loc = op.getLoc();
    int64_t k = op.getKAttr().getInt();
    bool causal = op.getCausal();
    // Non-causal: one selection, that of a single query at position M - 1.
    int64_t selQueries = causal ? n : 1;
    int64_t b = uType.getDimSize(0), hkv = uType.getDimSize(1);
    auto tauType =
        RankedTensorType::get({b, hkv, selQueries}, rewriter.getF32Type());
    auto idxType = RankedTensorType::get({b, hkv, selQueries, k},
                                         rewriter.getI32Type());
    Value tau = ThresholdOp::create(rewriter, loc, tauType, op.getU(),
                                    op.getKAttr(), op.getWindowAttr());
    Value idx = TopKOp::create(rewriter, loc, idxType, op.getU(),
                               op.getKAttr(), op.getWindowAttr());
    if (!causal) {
      OpFoldResult nSize = dimOf(rewriter, loc, op.getQ(), 2);
      tau = broadcastQueries(rewriter, loc, tau, nSize);
      idx = broadcastQueries(rewriter, loc, idx, nSize);
    }
    rewriter.replaceOpWithNewOp<GatheredAttentionOp>(
        op, op.getOut().getType(), op.getQ(), op.getKey(), op.getValue(), op.getU(),
        idx, tau, op.getWindowAttr(), op.getScaleAttr(), op.getGateAttr());
    return success();
  }
};

struct SparseKDecomposePass
    : sparsek::impl::SparseKDecomposePassBase<SparseKDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSparseKDecomposePatterns(patterns);
    // One walk: only sparsek.attention is rewritten, and nothing else is
    // folded or erased (the greedy driver would also drop dead ops).
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace

void mlir::sparsek::populateSparseKDecomposePatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeAttention>(patterns.getContext());
}
