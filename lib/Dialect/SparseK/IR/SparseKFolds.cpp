//===- SparseKFolds.cpp - sparsek folds and canonicalizations ---*- C++ -*-===//
//
// Only rewrites that SPEC makes true:
//
//   sparsek.mask %z k = K            (static n <= K)
//     => p = dense<1.0>, tau = dense<-inf>          (SPEC 2: n <= k)
//   sparsek.threshold %u k = K, window = W   (static M, M - W <= K)
//     => tau = dense<-inf>          (SPEC 3: |C_i| <= M - W <= k for all i)
//   sparsek.gathered_attention ... %tau {gate != none}, %tau = dense<-inf>
//     => gate = none      (m_ij = clip(u_j + inf, 0, 1) = 1 on every key)
//   sparsek.attention {gate != none}, every candidate fully selected
//     => gate = none      (causal: M - W <= k; non-causal: M <= k)
//
// With every gate weight equal to 1 the four gates compute the same
// function, and `none` is the cheapest.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

using namespace mlir;
using namespace mlir::sparsek;

/// A dense splat of `value` for a static f32 tensor type, or null.
static Attribute f32Splat(Type type, float value) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t || !t.hasStaticShape() || !t.getElementType().isF32())
    return {};
  return DenseElementsAttr::get(t, value);
}

static constexpr float kNegInf = -std::numeric_limits<float>::infinity();

LogicalResult MaskOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &res) {
  int64_t n = getZ().getType().getShape().back();
  if (ShapedType::isDynamic(n) || n > getKAttr().getInt())
    return failure();
  Attribute p = f32Splat(getP().getType(), 1.0f);
  Attribute tau = f32Splat(getTau().getType(), kNegInf);
  if (!p || !tau)
    return failure();
  res.push_back(p);
  res.push_back(tau);
  return success();
}

OpFoldResult ThresholdOp::fold(FoldAdaptor) {
  int64_t m = getU().getType().getDimSize(2);
  // The largest candidate set is that of the last query: M - window keys.
  if (ShapedType::isDynamic(m) || m - getWindowAttr().getInt() > getKAttr().getInt())
    return {};
  return f32Splat(getTau().getType(), kNegInf);
}

namespace {

/// gathered_attention with a constant all -inf threshold: every selected key
/// has weight 1, so the gate does not matter.
struct GatheredAttentionUngate : OpRewritePattern<GatheredAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatheredAttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getGate() == Gate::none)
      return failure();
    SplatElementsAttr tau;
    if (!matchPattern(op.getTau(), m_Constant(&tau)))
      return failure();
    APFloat v = tau.getSplatValue<APFloat>();
    if (!v.isInfinity() || !v.isNegative())
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.setGate(Gate::none); });
    return success();
  }
};

/// attention whose every candidate is selected: thresholds are all -inf and
/// every gate weight is 1.
struct AttentionUngate : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getGate() == Gate::none)
      return failure();
    int64_t m = op.getKey().getType().getDimSize(2);
    if (ShapedType::isDynamic(m))
      return failure();
    // Causal: |C_i| <= M - window. Non-causal: |C_i| = M (window is 0).
    if (m - op.getWindowAttr().getInt() > op.getKAttr().getInt())
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.setGate(Gate::none); });
    return success();
  }
};

} // namespace

void GatheredAttentionOp::getCanonicalizationPatterns(
    RewritePatternSet &results, MLIRContext *context) {
  results.add<GatheredAttentionUngate>(context);
}

void AttentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<AttentionUngate>(context);
}
