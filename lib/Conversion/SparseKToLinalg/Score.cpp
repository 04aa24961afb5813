//===- Score.cpp - sparsek.score to linalg ----------------------*- C++ -*-===//
//
//   sparsek.score %x, %w bias %bias {slope}
//     => %init = linalg.generic outs(...)   u = bias[h] + slope * j
//        linalg.generic ins(%x, %w) outs(%init)   u += x[b,j,c] * w[h,c]
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::sparsek::detail {
namespace {

using utils::IteratorType;

struct ScoreToLinalg : OpRewritePattern<ScoreOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ScoreOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MLIRContext *ctx = op.getContext();
    RankedTensorType uType = op.getU().getType();
    Type f32 = b.getF32Type();
    Value sizes[] = {dimValue(b, op.getX(), 0), dimValue(b, op.getWScore(), 0),
                     dimValue(b, op.getX(), 1)};
    Value init = emptyTensor(b, uType.getShape(), sizes, f32);
    double slope = op.getSlope().convertToDouble();

    AffineExpr d0, d1, d2, d3;
    bindDims(ctx, d0, d1, d2, d3);
    // Iteration order (j, h, b), as below.
    auto outMap = AffineMap::get(3, 0, {d2, d1, d0}, ctx);
    SmallVector<Value> biasIns;
    SmallVector<AffineMap> biasMaps;
    if (Value bias = op.getBias()) {
      biasIns.push_back(bias);
      biasMaps.push_back(AffineMap::get(3, 0, {d1}, ctx));
    }
    biasMaps.push_back(outMap);
    SmallVector<IteratorType> par3(3, IteratorType::parallel);
    Value start =
        linalg::GenericOp::create(
            b, TypeRange{uType}, biasIns, ValueRange{init}, biasMaps, par3,
            [&](OpBuilder &ob, Location loc, ValueRange args) {
              ImplicitLocOpBuilder nb(loc, ob);
              Value j = linalg::IndexOp::create(nb, 0);
              Value jf = arith::SIToFPOp::create(
                  nb, f32, arith::IndexCastOp::create(nb, nb.getI64Type(), j));
              Value v = arith::MulFOp::create(nb, jf, constF32(nb, slope));
              if (args.size() == 2)
                v = arith::AddFOp::create(nb, v, castFloat(nb, args[0], f32));
              linalg::YieldOp::create(nb, ValueRange{v});
            })
            .getResult(0);

    // Iteration order (j, h, b, c): the long KV dimension first, which GPU
    // mappings give to x.
    SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {d2, d0, d3}, ctx),
                                   AffineMap::get(4, 0, {d1, d3}, ctx),
                                   AffineMap::get(4, 0, {d2, d1, d0}, ctx)};
    SmallVector<IteratorType> iters = {
        IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
        IteratorType::reduction};
    auto gemm = linalg::GenericOp::create(
        b, TypeRange{uType}, ValueRange{op.getX(), op.getWScore()},
        ValueRange{start}, maps, iters,
        [&](OpBuilder &ob, Location loc, ValueRange args) {
          ImplicitLocOpBuilder nb(loc, ob);
          Value prod = arith::MulFOp::create(nb, castFloat(nb, args[0], f32),
                                             castFloat(nb, args[1], f32));
          linalg::YieldOp::create(
              nb, ValueRange{arith::AddFOp::create(nb, args[2], prod)});
        });
    rewriter.replaceOp(op, gemm.getResult(0));
    return success();
  }
};

} // namespace

void populateScorePatterns(RewritePatternSet &patterns) {
  patterns.add<ScoreToLinalg>(patterns.getContext());
}

} // namespace mlir::sparsek::detail
