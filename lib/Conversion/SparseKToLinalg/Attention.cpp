//===- Attention.cpp - gathered attention and the whole layer ---*- C++ -*-===//
//
//   sparsek.gathered_attention
//     => scf.forall (i, h, b) in (N, Hq, B): for query i, an online softmax
//        (running max, rescaled sum and accumulator) over its window rows
//        [max(0, p - w + 1), p] and its valid selected rows; O((k + w) D)
//        work and O(Dv) memory per query.
//   sparsek.attention {causal, dynamic N}
//     => the threshold and top-k sweeps of Selection.cpp, then the above.
//   Every other sparsek.attention is split by sparsek-decompose's pattern
//   (part of this conversion) and its stages lowered.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

namespace mlir::sparsek::detail {
namespace {

Value extract(ImplicitLocOpBuilder &b, Value t, ValueRange idx) {
  return tensor::ExtractOp::create(b, t, idx);
}

/// Online-softmax state of one query: running max, denominator and the
/// unnormalised output row (f32).
struct Online {
  Value mx, den, acc;
  SmallVector<Value> pack() const { return {mx, den, acc}; }
  static Online unpack(ValueRange v) { return {v[0], v[1], v[2]}; }
};

/// clip(u - tau, 0, 1), with the conventions of SPEC 2 that keep it defined
/// for infinite scores: 1 while tau = -inf (every candidate is fully
/// selected, a -inf score too) and for u = +inf.
Value softWeight(ImplicitLocOpBuilder &b, Value u, Value tau) {
  double inf = std::numeric_limits<double>::infinity();
  Value clipped = arith::MinimumFOp::create(
      b,
      arith::MaximumFOp::create(b, arith::SubFOp::create(b, u, tau),
                                constF32(b, 0)),
      constF32(b, 1));
  Value full = arith::OrIOp::create(
      b, arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, tau,
                               constF32(b, -inf)),
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, u,
                            constF32(b, inf)));
  return arith::SelectOp::create(b, full, constF32(b, 1), clipped);
}

} // namespace

Value buildGatheredAttention(ImplicitLocOpBuilder &b, Value q, Value key,
                             Value value, Value u, Value indices, Value tau,
                             int64_t window, Value scale, Gate gate,
                             RankedTensorType resultType) {
  Type f32 = b.getF32Type();
  Type elem = resultType.getElementType();
  Value batch = dimValue(b, q, 0), hq = dimValue(b, q, 1),
        n = dimValue(b, q, 2), d = dimValue(b, q, 3), hkv = dimValue(b, key, 1),
        m = dimValue(b, key, 2), dv = dimValue(b, value, 3),
        kSel = dimValue(b, indices, 3);
  // Hkv = 0 only with Hq = 0 (no query runs); avoid dividing by it.
  Value group = arith::DivUIOp::create(b, hq, maxIndex(b, hkv, constIndex(b, 1)));
  Value init =
      emptyTensor(b, resultType.getShape(), {batch, hq, n, dv}, elem);
  double inf = std::numeric_limits<double>::infinity();

  // Queries first: GPU mappings give the first dimension to x, the only
  // one whose block and grid extents are not small.
  return forallInsert(
      b, {n, hq, batch}, init,
      [&](ImplicitLocOpBuilder &fb, ValueRange ivs) {
        Value i = ivs[0], h = ivs[1], bi = ivs[2];
        Value zero = constIndex(fb, 0), one = constIndex(fb, 1);
        Value g = arith::DivUIOp::create(fb, h, group);
        Value pos = arith::SubIOp::create(fb, arith::AddIOp::create(fb, i, m),
                                          n);
        Value end = arith::AddIOp::create(fb, pos, one);
        Value lo = window > 0
                       ? maxIndex(fb,
                                  arith::SubIOp::create(
                                      fb, end, constIndex(fb, window)),
                                  zero)
                       : end;
        Value acc0 =
            linalg::FillOp::create(
                fb, ValueRange{constF32(fb, 0)},
                ValueRange{scratchTensor(fb, {ShapedType::kDynamic}, dv, f32)})
                .getResult(0);
        Online st0{constF32(fb, -inf), constF32(fb, 0), acc0};

        // Adds key j with gate weight wgt (f32) to the online softmax;
        // `valid` false adds nothing. Branch-free: no tensor is yielded by
        // an scf.if, so buffer ownership stays static (GPU kernels) and
        // threads do not diverge. j must be in range even when not valid.
        auto process = [&](ImplicitLocOpBuilder &pb, Online s, Value j,
                           Value wgt, Value valid) {
          Value negInf = constF32(pb, -inf);
          Value dot = forLoop(pb, zero, d, {constF32(pb, 0)},
                              [&](ImplicitLocOpBuilder &db, Value c,
                                  ValueRange a) {
                                Value qv = castFloat(
                                    db, extract(db, q, {bi, h, i, c}), f32);
                                Value kv = castFloat(
                                    db, extract(db, key, {bi, g, j, c}), f32);
                                return SmallVector<Value>{arith::AddFOp::create(
                                    db, a[0], arith::MulFOp::create(db, qv, kv))};
                              })[0];
          Value l = arith::MulFOp::create(pb, scale, dot);
          if (gate == Gate::kv)
            l = arith::MulFOp::create(pb, l, wgt);
          else if (gate == Gate::logit)
            l = arith::AddFOp::create(pb, l, math::LogOp::create(pb, wgt));
          l = arith::SelectOp::create(pb, valid, l, negInf);
          Value mx = arith::MaximumFOp::create(pb, s.mx, l);
          // Nothing finite seen yet: keep the state (alpha = 1, p = 0).
          Value skip =
              arith::CmpFOp::create(pb, arith::CmpFPredicate::OEQ, mx, negInf);
          Value alpha = arith::SelectOp::create(
              pb, skip, constF32(pb, 1),
              math::ExpOp::create(pb, arith::SubFOp::create(pb, s.mx, mx)));
          Value p = arith::SelectOp::create(
              pb, skip, constF32(pb, 0),
              math::ExpOp::create(pb, arith::SubFOp::create(pb, l, mx)));
          Value den = arith::AddFOp::create(
              pb, arith::MulFOp::create(pb, s.den, alpha), p);
          Value vw = (gate == Gate::kv || gate == Gate::v)
                         ? arith::MulFOp::create(pb, p, wgt).getResult()
                         : p;
          Value acc =
              forLoop(pb, zero, dv, {s.acc},
                      [&](ImplicitLocOpBuilder &ab, Value c, ValueRange a) {
                        Value old = extract(ab, a[0], {c});
                        Value vv = castFloat(
                            ab, extract(ab, value, {bi, g, j, c}), f32);
                        Value nv = arith::AddFOp::create(
                            ab, arith::MulFOp::create(ab, old, alpha),
                            arith::MulFOp::create(ab, vw, vv));
                        return SmallVector<Value>{tensor::InsertOp::create(
                            ab, nv, a[0], ValueRange{c})};
                      })[0];
          return Online{arith::SelectOp::create(pb, skip, s.mx, mx), den, acc};
        };

        // The window: contiguous rows lo..pos, weight 1.
        Value always = arith::ConstantIntOp::create(fb, 1, 1);
        SmallVector<Value> st = forLoop(
            fb, lo, end, st0.pack(),
            [&](ImplicitLocOpBuilder &wb, Value j, ValueRange a) {
              return process(wb, Online::unpack(a), j, constF32(wb, 1), always)
                  .pack();
            });
        // The selection: valid entries outside the window, soft weights.
        // Invalid entries read row 0 (in range) and add nothing.
        Value t = extract(fb, tau, {bi, g, i});
        st = forLoop(
            fb, zero, kSel, st,
            [&](ImplicitLocOpBuilder &sb, Value e, ValueRange a) {
              Value j32 = extract(sb, indices, {bi, g, i, e});
              Value j = arith::IndexCastOp::create(sb, sb.getIndexType(), j32);
              Value inRange = arith::AndIOp::create(
                  sb,
                  arith::CmpIOp::create(sb, arith::CmpIPredicate::sge, j,
                                        zero),
                  arith::CmpIOp::create(sb, arith::CmpIPredicate::slt, j, m));
              Value inWindow = arith::AndIOp::create(
                  sb,
                  arith::CmpIOp::create(sb, arith::CmpIPredicate::sge, j, lo),
                  arith::CmpIOp::create(sb, arith::CmpIPredicate::slt, j,
                                        end));
              Value valid = arith::AndIOp::create(
                  sb, inRange,
                  arith::XOrIOp::create(
                      sb, inWindow, arith::ConstantIntOp::create(sb, 1, 1)));
              Value jSafe = arith::SelectOp::create(sb, valid, j, zero);
              Value uj = extract(sb, u, {bi, g, jSafe});
              Value wgt = softWeight(sb, uj, t);
              return process(sb, Online::unpack(a), jSafe, wgt, valid).pack();
            });
        Online fin = Online::unpack(st);
        // Normalise; a query with nothing finite to attend to gets zeros.
        Value positive = arith::CmpFOp::create(fb, arith::CmpFPredicate::OGT,
                                               fin.den, constF32(fb, 0));
        Value inv = arith::SelectOp::create(
            fb, positive,
            arith::DivFOp::create(fb, constF32(fb, 1), fin.den),
            constF32(fb, 0));
        Value row = scratchTensor(fb, {ShapedType::kDynamic}, dv, elem);
        row = forLoop(fb, zero, dv, {row},
                      [&](ImplicitLocOpBuilder &ob, Value c, ValueRange a) {
                        Value v = arith::MulFOp::create(
                            ob, extract(ob, fin.acc, {c}), inv);
                        return SmallVector<Value>{tensor::InsertOp::create(
                            ob, castFloat(ob, v, elem), a[0], ValueRange{c})};
                      })[0];
        ForallSlice slice;
        slice.source = row;
        slice.offsets = {bi, h, i, fb.getIndexAttr(0)};
        slice.sizes = {fb.getIndexAttr(1), fb.getIndexAttr(1),
                       fb.getIndexAttr(1), dv};
        return slice;
      });
}

namespace {

/// The softmax scale as an f32 value: the op's static scale, or 1/sqrt(D)
/// computed from the run-time D.
Value scaleValue(ImplicitLocOpBuilder &b, std::optional<double> scale,
                 Value q) {
  if (scale)
    return constF32(b, *scale);
  Value d = arith::SIToFPOp::create(
      b, b.getF32Type(),
      arith::IndexCastOp::create(b, b.getI64Type(), dimValue(b, q, 3)));
  return arith::DivFOp::create(b, constF32(b, 1.0), math::SqrtOp::create(b, d));
}

struct GatheredAttentionToLinalg : OpRewritePattern<GatheredAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatheredAttentionOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value out = buildGatheredAttention(
        b, op.getQ(), op.getKey(), op.getValue(), op.getU(), op.getIndices(),
        op.getTau(), op.getWindowAttr().getInt(),
        scaleValue(b, op.getStaticScale(), op.getQ()), op.getGate(),
        op.getOut().getType());
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// The causal layer with a dynamic query length N, which sparsek-decompose
/// cannot split (threshold and topk take N from their result types): the
/// stage builders with N from `q`. Every other layer is decomposed first
/// (Decompose.cpp, included in this conversion) and its stages lowered.
struct CausalAttentionToLinalg : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getCausal())
      return rewriter.notifyMatchFailure(op, "non-causal: decomposed");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MLIRContext *ctx = op.getContext();
    int64_t k = op.getKAttr().getInt(), window = op.getWindowAttr().getInt();
    RankedTensorType uType = op.getU().getType();
    int64_t nStatic = op.getQ().getType().getDimSize(2);
    Value n = dimValue(b, op.getQ(), 2);
    auto tauType = RankedTensorType::get(
        {uType.getDimSize(0), uType.getDimSize(1), nStatic},
        Float32Type::get(ctx));
    auto idxType = RankedTensorType::get(
        {uType.getDimSize(0), uType.getDimSize(1), nStatic, k},
        IntegerType::get(ctx, 32));
    Value tau = buildThresholds(b, op.getU(), k, window, n, tauType);
    Value idx = buildTopK(b, op.getU(), k, window, n, idxType);
    Value out = buildGatheredAttention(
        b, op.getQ(), op.getKey(), op.getValue(), op.getU(), idx, tau, window,
        scaleValue(b, op.getStaticScale(), op.getQ()), op.getGate(),
        op.getOut().getType());
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void populateAttentionPatterns(RewritePatternSet &patterns) {
  patterns.add<GatheredAttentionToLinalg, CausalAttentionToLinalg>(
      patterns.getContext());
}

} // namespace mlir::sparsek::detail
