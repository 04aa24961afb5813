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
//        %cnt = linalg.generic (reduction: entries above -inf)
//        %tau = linalg.generic (cnt <= K ? -inf : float(hi))
//        %p   = linalg.generic clip(z - tau, 0, 1) (1 while tau = -inf)
//
// Entries of -inf never count (clip(-inf - t) = 0 at every finite t), so
// tau = -inf while a row has at most K entries above -inf (SPEC 2's n <= K
// among them).
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

/// The tensors and maps of one mask lowering: `z : [lead..., n]`, rows
/// indexed by the leading dims.
class MaskBuilder {
public:
  MaskBuilder(ImplicitLocOpBuilder &b, MaskOp op)
      : b(b), ctx(op.getContext()), z(op.getZ()), k(op.getKAttr().getInt()),
        zType(cast<RankedTensorType>(z.getType())), rank(zType.getRank()),
        leadF32(cast<RankedTensorType>(op.getTau().getType())),
        pType(cast<RankedTensorType>(op.getP().getType())) {
    for (int64_t d = 0; d < rank; ++d)
      sizes.push_back(dimValue(b, z, d));
    full = AffineMap::getMultiDimIdentityMap(rank, ctx);
    lead = AffineMap::getMultiDimIdentityMap(rank - 1, ctx);
    // (d0, ..., d{r-1}) -> (d0, ..., d{r-2}); for rank 1, () (one row).
    fullToLead = AffineMap::get(rank, 0, full.getResults().drop_back(), ctx);
  }

  /// tau per row: -inf when at most k entries are above -inf (SPEC 2),
  /// else the bisection's upper end.
  Value threshold() {
    Value hi = bisect();
    Value counted = rowReduce(
        b.getI64Type(), arith::ConstantIntOp::create(b, 0, 64),
        [&](ImplicitLocOpBuilder &eb, Value zj, Value acc) {
          Value above = arith::CmpFOp::create(
              eb, arith::CmpFPredicate::OGT, zj, constF32(eb, -kInf));
          return arith::AddIOp::create(
              eb, acc,
              arith::ExtUIOp::create(eb, eb.getI64Type(), above));
        });
    Value kI64 = arith::ConstantIntOp::create(b, k, 64);
    return elementwise(
        {leadF32}, {hi, counted}, {emptyLead(b.getF32Type())},
        [&](ImplicitLocOpBuilder &eb, ValueRange a) {
          Value all = arith::CmpIOp::create(eb, arith::CmpIPredicate::sle,
                                            a[1], kI64);
          return SmallVector<Value>{arith::SelectOp::create(
              eb, all, constF32(eb, -kInf), floatOf(eb, a[0]))};
        });
  }

  /// p = clip(z - tau, 0, 1) (1 while tau = -inf, and for z = +inf).
  Value mask(Value tau) {
    return linalg::GenericOp::create(
               b, TypeRange{pType}, ValueRange{z, tau},
               ValueRange{emptyTensor(b, pType.getShape(), sizes,
                                      b.getF32Type())},
               SmallVector<AffineMap>{full, fullToLead, full},
               SmallVector<IteratorType>(rank, IteratorType::parallel),
               [&](OpBuilder &ob, Location loc, ValueRange a) {
                 ImplicitLocOpBuilder eb(loc, ob);
                 linalg::YieldOp::create(
                     eb, ValueRange{softWeight(eb, a[0], a[1])});
               })
        .getResult(0);
  }

private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  Value emptyLead(Type elem) {
    return emptyTensor(b, zType.getShape().drop_back(),
                       ValueRange(sizes).drop_back(), elem);
  }

  Value fillLead(Type elem, Value v) {
    return linalg::FillOp::create(b, ValueRange{v}, ValueRange{emptyLead(elem)})
        .getResult(0);
  }

  /// A linalg.generic over the rows.
  Value elementwise(TypeRange results, ValueRange ins, ValueRange outs,
                    function_ref<SmallVector<Value>(ImplicitLocOpBuilder &,
                                                    ValueRange)>
                        body,
                    unsigned result = 0) {
    SmallVector<AffineMap> maps(ins.size() + outs.size(), lead);
    SmallVector<IteratorType> par(rank - 1, IteratorType::parallel);
    return linalg::GenericOp::create(
               b, results, ins, outs, maps, par,
               [&](OpBuilder &ob, Location loc, ValueRange args) {
                 ImplicitLocOpBuilder nb(loc, ob);
                 linalg::YieldOp::create(nb, body(nb, args));
               })
        .getResult(result);
  }

  /// A reduction of every row of z, starting from `init` (of type `elem`):
  /// acc = body(z_j, acc).
  Value rowReduce(Type elem, Value init,
                  function_ref<Value(ImplicitLocOpBuilder &, Value, Value)>
                      body) {
    SmallVector<IteratorType> red(rank, IteratorType::parallel);
    red.back() = IteratorType::reduction;
    Value acc = fillLead(elem, init);
    return linalg::GenericOp::create(
               b, TypeRange{acc.getType()}, ValueRange{z}, ValueRange{acc},
               SmallVector<AffineMap>{full, fullToLead}, red,
               [&](OpBuilder &ob, Location loc, ValueRange a) {
                 ImplicitLocOpBuilder eb(loc, ob);
                 linalg::YieldOp::create(eb, ValueRange{body(eb, a[0], a[1])});
               })
        .getResult(0);
  }

  /// f(t) = sum_j clip(z_j - t, 0, 1) per row, in f64, for t given per row
  /// as an ordered key.
  Value capSum(Value midKeys) {
    Type f64 = b.getF64Type();
    SmallVector<IteratorType> red(rank, IteratorType::parallel);
    red.back() = IteratorType::reduction;
    Value zero = fillLead(f64, constF64(b, 0.0));
    return linalg::GenericOp::create(
               b, TypeRange{zero.getType()}, ValueRange{z, midKeys},
               ValueRange{zero},
               SmallVector<AffineMap>{full, fullToLead, fullToLead}, red,
               [&](OpBuilder &ob, Location loc, ValueRange a) {
                 ImplicitLocOpBuilder eb(loc, ob);
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
  }

  /// 32 bisection steps over ordered keys, invariant f(lo) > k >= f(hi);
  /// returns hi per row.
  Value bisect() {
    Type i64 = b.getI64Type();
    Value lo0 = fillLead(i64, keyOf(b, constF32(b, -kInf)));
    Value hi0 = fillLead(i64, keyOf(b, constF32(b, kInf)));
    Value kF64 = constF64(b, static_cast<double>(k));
    auto loop = scf::ForOp::create(
        b, constIndex(b, 0), constIndex(b, 32), constIndex(b, 1),
        ValueRange{lo0, hi0},
        [&](OpBuilder &ob, Location loc, Value, ValueRange iter) {
          ImplicitLocOpBuilder nb(loc, ob);
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          b.setLoc(loc);
          Value mid = elementwise(
              {iter[0].getType()}, {iter[0], iter[1]}, {emptyLead(i64)},
              [](ImplicitLocOpBuilder &eb, ValueRange a) {
                Value half = arith::ShRSIOp::create(
                    eb, arith::SubIOp::create(eb, a[1], a[0]),
                    arith::ConstantIntOp::create(eb, 1, 64));
                return SmallVector<Value>{
                    arith::AddIOp::create(eb, a[0], half)};
              });
          Value f = capSum(mid);
          SmallVector<Type> two(2, iter[0].getType());
          auto step = [&](unsigned r) {
            return elementwise(
                two, {f, mid}, {iter[0], iter[1]},
                [&](ImplicitLocOpBuilder &eb, ValueRange a) {
                  Value above = arith::CmpFOp::create(
                      eb, arith::CmpFPredicate::OGT, a[0], kF64);
                  return SmallVector<Value>{
                      arith::SelectOp::create(eb, above, a[1], a[2]),
                      arith::SelectOp::create(eb, above, a[3], a[1])};
                },
                r);
          };
          Value lo = step(0);
          Value hi = lo.getDefiningOp()->getResult(1);
          scf::YieldOp::create(b, ValueRange{lo, hi});
        });
    return loop.getResult(1);
  }

  ImplicitLocOpBuilder &b;
  MLIRContext *ctx;
  Value z;
  int64_t k;
  RankedTensorType zType;
  int64_t rank;
  RankedTensorType leadF32, pType;
  SmallVector<Value> sizes;
  AffineMap full, lead, fullToLead;
};

struct MaskToLinalg : OpRewritePattern<MaskOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MaskOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MaskBuilder mb(b, op);
    Value tau = mb.threshold();
    Value p = mb.mask(tau);
    rewriter.replaceOp(op, {p, tau});
    return success();
  }
};

} // namespace

void populateMaskPatterns(RewritePatternSet &patterns) {
  patterns.add<MaskToLinalg>(patterns.getContext());
}

} // namespace mlir::sparsek::detail
