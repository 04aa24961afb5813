//===- Mask.cpp - sparsek.mask to linalg ------------------------*- C++ -*-===//
//
// tau is the smallest f32 t with f(t) = sum_j clip(z_j - t, 0, 1) <= k
// (f is continuous and non-increasing, so that is the smallest solution of
// f(t) = k, rounded up to f32). It is found exactly by bisection over the
// ordered bit patterns of f32: 32 steps take the interval
// [key(-inf), key(+inf)] (f(-inf) = n > k, f(+inf) = 0 <= k) down to two
// adjacent floats. Each step is one linalg.generic reduction along n (f64
// accumulation), so a row costs O(32 n), with every row in parallel:
//
//   sparsek.mask %z k = K
//     => scf.for 32 steps iter(%lo, %hi : tensor<[...]xi64>)
//          %mid = linalg.generic (lo + (hi - lo) / 2)
//          %f   = linalg.generic ins(%z, %mid) (reduction over n)
//          %lo, %hi = linalg.generic (f > K ? (mid, hi) : (lo, mid))
//        %tau = linalg.generic (n <= K ? -inf : float(hi))
//        %p   = linalg.generic clip(z - tau, 0, 1)
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

namespace mlir::sparsek::detail {
namespace {

using utils::IteratorType;

/// Monotone map from f32 to i64: bit pattern, with negatives reflected.
Value keyOf(ImplicitLocOpBuilder &b, Value f) {
  Value bits = arith::BitcastOp::create(b, b.getI32Type(), f);
  Value neg = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, bits,
                                    constI32(b, 0));
  Value flipped = arith::XOrIOp::create(b, bits, constI32(b, 0x7FFFFFFF));
  Value k = arith::SelectOp::create(b, neg, flipped, bits);
  return arith::ExtSIOp::create(b, b.getI64Type(), k);
}

/// Inverse of keyOf.
Value floatOf(ImplicitLocOpBuilder &b, Value key) {
  Value k = arith::TruncIOp::create(b, b.getI32Type(), key);
  Value neg =
      arith::CmpIOp::create(b, arith::CmpIPredicate::slt, k, constI32(b, 0));
  Value flipped = arith::XOrIOp::create(b, k, constI32(b, 0x7FFFFFFF));
  Value bits = arith::SelectOp::create(b, neg, flipped, k);
  return arith::BitcastOp::create(b, b.getF32Type(), bits);
}

struct MaskToLinalg : OpRewritePattern<MaskOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MaskOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MLIRContext *ctx = op.getContext();
    Value z = op.getZ();
    auto zType = cast<RankedTensorType>(z.getType());
    int64_t rank = zType.getRank();
    int64_t k = op.getKAttr().getInt();
    Type f32 = b.getF32Type(), f64 = b.getF64Type(), i64 = b.getI64Type();

    SmallVector<Value> sizes;
    for (int64_t d = 0; d < rank; ++d)
      sizes.push_back(dimValue(b, z, d));
    ArrayRef<int64_t> leadShape = zType.getShape().drop_back();
    ValueRange leadSizes = ValueRange(sizes).drop_back();
    auto leadI64 = RankedTensorType::get(leadShape, i64);
    auto leadF64 = RankedTensorType::get(leadShape, f64);
    // Results keep the op's own types (they may know more than z's type).
    auto leadF32 = cast<RankedTensorType>(op.getTau().getType());
    auto pType = cast<RankedTensorType>(op.getP().getType());

    AffineMap full = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap lead = AffineMap::getMultiDimIdentityMap(rank - 1, ctx);
    AffineMap fullToLead = full.getMajorSubMap(rank - 1);
    SmallVector<IteratorType> leadPar(rank - 1, IteratorType::parallel);
    SmallVector<IteratorType> rowRed(rank, IteratorType::parallel);
    rowRed.back() = IteratorType::reduction;

    auto fill = [&](RankedTensorType t, Value v) {
      Value e = emptyTensor(b, t.getShape(), leadSizes, t.getElementType());
      return linalg::FillOp::create(b, ValueRange{v}, ValueRange{e})
          .getResult(0);
    };
    auto elementwise = [&](ImplicitLocOpBuilder &gb, TypeRange results,
                           ValueRange ins, ValueRange outs, auto body) {
      SmallVector<AffineMap> maps(ins.size() + outs.size(), lead);
      return linalg::GenericOp::create(
          gb, results, ins, outs, maps, leadPar,
          [&](OpBuilder &ob, Location loc, ValueRange args) {
            ImplicitLocOpBuilder nb(loc, ob);
            linalg::YieldOp::create(nb, body(nb, args));
          });
    };

    double inf = std::numeric_limits<double>::infinity();
    Value lo0 = fill(leadI64, keyOf(b, constF32(b, -inf)));
    Value hi0 = fill(leadI64, keyOf(b, constF32(b, inf)));
    Value kF64 = constF64(b, static_cast<double>(k));
    auto loop = scf::ForOp::create(
        b, constIndex(b, 0), constIndex(b, 32), constIndex(b, 1),
        ValueRange{lo0, hi0},
        [&](OpBuilder &ob, Location loc, Value, ValueRange iter) {
          ImplicitLocOpBuilder nb(loc, ob);
          Value mid = elementwise(
                          nb, {leadI64}, {iter[0], iter[1]},
                          {emptyTensor(nb, leadShape, leadSizes, i64)},
                          [](ImplicitLocOpBuilder &eb, ValueRange a) {
                            Value half = arith::ShRSIOp::create(
                                eb, arith::SubIOp::create(eb, a[1], a[0]),
                                arith::ConstantIntOp::create(eb, 1, 64));
                            return SmallVector<Value>{
                                arith::AddIOp::create(eb, a[0], half)};
                          })
                          .getResult(0);
          Value zero =
              linalg::FillOp::create(
                  nb, ValueRange{constF64(nb, 0.0)},
                  ValueRange{emptyTensor(nb, leadShape, leadSizes, f64)})
                  .getResult(0);
          Value f =
              linalg::GenericOp::create(
                  nb, TypeRange{leadF64}, ValueRange{z, mid},
                  ValueRange{zero},
                  SmallVector<AffineMap>{full, fullToLead, fullToLead},
                  rowRed,
                  [&](OpBuilder &ob2, Location loc2, ValueRange a) {
                    ImplicitLocOpBuilder eb(loc2, ob2);
                    Value t = arith::ExtFOp::create(eb, f64, floatOf(eb, a[1]));
                    Value d = arith::SubFOp::create(
                        eb, arith::ExtFOp::create(eb, f64, a[0]), t);
                    Value c = arith::MinimumFOp::create(
                        eb, arith::MaximumFOp::create(eb, d, constF64(eb, 0)),
                        constF64(eb, 1));
                    linalg::YieldOp::create(
                        eb, ValueRange{arith::AddFOp::create(eb, a[2], c)});
                  })
                  .getResult(0);
          auto next = elementwise(
              nb, {leadI64, leadI64}, {f, mid}, {iter[0], iter[1]},
              [&](ImplicitLocOpBuilder &eb, ValueRange a) {
                Value above = arith::CmpFOp::create(
                    eb, arith::CmpFPredicate::OGT, a[0], kF64);
                return SmallVector<Value>{
                    arith::SelectOp::create(eb, above, a[1], a[2]),
                    arith::SelectOp::create(eb, above, a[3], a[1])};
              });
          scf::YieldOp::create(nb, next.getResults());
        });

    // n <= k: every entry is fully selected and tau = -inf.
    Value allSelected =
        arith::CmpIOp::create(b, arith::CmpIPredicate::sle, sizes.back(),
                              constIndex(b, k));
    Value negInf = constF32(b, -inf);
    Value tau = elementwise(b, {leadF32}, {loop.getResult(1)},
                            {emptyTensor(b, leadF32.getShape(), leadSizes, f32)},
                            [&](ImplicitLocOpBuilder &eb, ValueRange a) {
                              return SmallVector<Value>{arith::SelectOp::create(
                                  eb, allSelected, negInf, floatOf(eb, a[0]))};
                            })
                    .getResult(0);
    Value p =
        linalg::GenericOp::create(
            b, TypeRange{pType}, ValueRange{z, tau},
            ValueRange{emptyTensor(b, pType.getShape(), sizes, f32)},
            SmallVector<AffineMap>{full, fullToLead, full},
            SmallVector<IteratorType>(rank, IteratorType::parallel),
            [&](OpBuilder &ob, Location loc, ValueRange a) {
              ImplicitLocOpBuilder eb(loc, ob);
              Value d = arith::SubFOp::create(eb, a[0], a[1]);
              Value c = arith::MinimumFOp::create(
                  eb, arith::MaximumFOp::create(eb, d, constF32(eb, 0)),
                  constF32(eb, 1));
              linalg::YieldOp::create(eb, ValueRange{c});
            })
            .getResult(0);
    rewriter.replaceOp(op, {p, tau});
    return success();
  }
};

} // namespace

void populateMaskPatterns(RewritePatternSet &patterns) {
  patterns.add<MaskToLinalg>(patterns.getContext());
}

} // namespace mlir::sparsek::detail
