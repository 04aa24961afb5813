//===- Utils.cpp - shared helpers of the sparsek lowering -------*- C++ -*-===//

#include "Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

namespace mlir::sparsek::detail {

Value constIndex(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

Value constI32(ImplicitLocOpBuilder &b, int32_t v) {
  return arith::ConstantIntOp::create(b, v, 32);
}

Value constF32(ImplicitLocOpBuilder &b, double v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

Value constF64(ImplicitLocOpBuilder &b, double v) {
  return arith::ConstantOp::create(b, b.getF64FloatAttr(v));
}

Value dimValue(ImplicitLocOpBuilder &b, Value tensor, int64_t d) {
  auto t = cast<RankedTensorType>(tensor.getType());
  if (!t.isDynamicDim(d))
    return constIndex(b, t.getDimSize(d));
  return tensor::DimOp::create(b, tensor, d);
}

Value clampedQueries(ImplicitLocOpBuilder &b, BlockSelectOp op) {
  Value n = arith::MaxSIOp::create(b, op.getQueries(), constIndex(b, 0));
  return arith::MinSIOp::create(b, n, dimValue(b, op.getU(), 2));
}

Value castFloat(ImplicitLocOpBuilder &b, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, to, v);
  return arith::TruncFOp::create(b, to, v);
}

Value softWeight(ImplicitLocOpBuilder &b, Value u, Value tau) {
  double inf = std::numeric_limits<double>::infinity();
  Value clipped = arith::MinimumFOp::create(
      b,
      arith::MaximumFOp::create(b, arith::SubFOp::create(b, u, tau),
                                constF32(b, 0)),
      constF32(b, 1));
  Value full = arith::OrIOp::create(
      b,
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, tau,
                            constF32(b, -inf)),
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, u,
                            constF32(b, inf)));
  return arith::SelectOp::create(b, full, constF32(b, 1), clipped);
}

SelectedKey selectedKey(ImplicitLocOpBuilder &b, Value indices,
                        ValueRange entryIdx, Value u, ValueRange uRow, Value t,
                        Value lo, Value end, Value m, Value zero) {
  Value j = arith::IndexCastOp::create(
      b, b.getIndexType(), tensor::ExtractOp::create(b, indices, entryIdx));
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y).getResult();
  };
  Value inRange = arith::AndIOp::create(b, cmp(arith::CmpIPredicate::sge, j, zero),
                                        cmp(arith::CmpIPredicate::slt, j, m));
  Value inWindow = arith::AndIOp::create(b, cmp(arith::CmpIPredicate::sge, j, lo),
                                         cmp(arith::CmpIPredicate::slt, j, end));
  Value valid = arith::AndIOp::create(
      b, inRange,
      arith::XOrIOp::create(b, inWindow, arith::ConstantIntOp::create(b, 1, 1)));
  Value jSafe = arith::SelectOp::create(b, valid, j, zero);
  SmallVector<Value> uIdx(uRow);
  uIdx.push_back(jSafe);
  Value wgt = softWeight(b, tensor::ExtractOp::create(b, u, uIdx), t);
  return {jSafe, wgt, valid};
}

Value gatedLogit(ImplicitLocOpBuilder &b, Gate gate, Value scale, Value qk,
                 Value wgt, Value valid) {
  Value l = arith::MulFOp::create(b, scale, qk);
  if (gate == Gate::kv)
    l = arith::MulFOp::create(b, l, wgt);
  else if (gate == Gate::logit)
    l = arith::AddFOp::create(b, l, math::LogOp::create(b, wgt));
  return arith::SelectOp::create(
      b, valid, l, constF32(b, -std::numeric_limits<double>::infinity()));
}

Value minIndex(ImplicitLocOpBuilder &b, Value x, Value y) {
  return arith::MinSIOp::create(b, x, y);
}

Value maxIndex(ImplicitLocOpBuilder &b, Value x, Value y) {
  return arith::MaxSIOp::create(b, x, y);
}

Value clampIndex(ImplicitLocOpBuilder &b, Value x, Value lo, Value hi) {
  return minIndex(b, maxIndex(b, x, lo), hi);
}

std::pair<Value, Value> windowOf(ImplicitLocOpBuilder &b, Value i, Value m,
                                 Value n, int64_t window) {
  Value end = arith::AddIOp::create(
      b, arith::SubIOp::create(b, arith::AddIOp::create(b, i, m), n),
      constIndex(b, 1));
  Value lo = window > 0 ? maxIndex(b,
                                   arith::SubIOp::create(
                                       b, end, constIndex(b, window)),
                                   constIndex(b, 0))
                        : end;
  return {lo, end};
}


/// The entries of `sizes` for the dynamic dims of `shape`.
static SmallVector<Value> dynamicSizes(ArrayRef<int64_t> shape,
                                       ValueRange sizes) {
  SmallVector<Value> dyn;
  for (auto [d, s] : llvm::enumerate(shape))
    if (ShapedType::isDynamic(s))
      dyn.push_back(sizes[d]);
  return dyn;
}

Value emptyTensor(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape,
                  ValueRange sizes, Type elem) {
  return tensor::EmptyOp::create(b, shape, elem, dynamicSizes(shape, sizes));
}

Value scratchTensor(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape,
                    ValueRange sizes, Type elem) {
  return bufferization::AllocTensorOp::create(
      b, RankedTensorType::get(shape, elem), dynamicSizes(shape, sizes));
}

SmallVector<Value> ifElse(ImplicitLocOpBuilder &b, Value cond,
                          TypeRange types, BodyFn thenFn, BodyFn elseFn) {
  auto ifOp = scf::IfOp::create(b, types, cond, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    SmallVector<Value> vals = thenFn(b);
    scf::YieldOp::create(b, vals);
    b.setInsertionPointToStart(ifOp.elseBlock());
    vals = elseFn(b);
    scf::YieldOp::create(b, vals);
  }
  return llvm::to_vector_of<Value>(ifOp.getResults());
}

SmallVector<Value>
forLoop(ImplicitLocOpBuilder &b, Value lb, Value ub, ValueRange inits,
        function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value,
                                        ValueRange)>
            body) {
  // The body is built by `b` itself (moved into the loop, then back), like
  // ifElse's and the foralls' bodies: code that captured `b` builds where
  // it is called.
  auto loop = scf::ForOp::create(
      b, lb, ub, constIndex(b, 1), inits,
      [&](OpBuilder &ob, Location, Value iv, ValueRange iter) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(ob.getInsertionBlock(), ob.getInsertionPoint());
        scf::YieldOp::create(b, body(b, iv, iter));
      });
  return llvm::to_vector_of<Value>(loop.getResults());
}

Value forallInsert(ImplicitLocOpBuilder &b, ValueRange ubs, Value init,
                   function_ref<ForallSlice(ImplicitLocOpBuilder &,
                                            ValueRange)>
                       body) {
  return forallInsertMulti(
      b, ubs, ValueRange{init},
      [&](ImplicitLocOpBuilder &fb, ValueRange ivs) {
        return SmallVector<ForallSlice>{body(fb, ivs)};
      })[0];
}

Value softmaxScale(ImplicitLocOpBuilder &b, std::optional<double> scale,
                   Value q) {
  if (scale)
    return constF32(b, *scale);
  Value d = arith::SIToFPOp::create(
      b, b.getF32Type(),
      arith::IndexCastOp::create(b, b.getI64Type(), dimValue(b, q, 3)));
  return arith::DivFOp::create(b, constF32(b, 1.0), math::SqrtOp::create(b, d));
}

Value dotProduct(ImplicitLocOpBuilder &b, Value x, ValueRange xIdx, Value y,
                 ValueRange yIdx, Value len) {
  Type f32 = b.getF32Type();
  return forLoop(b, constIndex(b, 0), len, {constF32(b, 0)},
                 [&](ImplicitLocOpBuilder &db, Value c, ValueRange a) {
                   SmallVector<Value> ix(xIdx), iy(yIdx);
                   ix.push_back(c);
                   iy.push_back(c);
                   Value xv = castFloat(
                       db, tensor::ExtractOp::create(db, x, ix), f32);
                   Value yv = castFloat(
                       db, tensor::ExtractOp::create(db, y, iy), f32);
                   return SmallVector<Value>{arith::AddFOp::create(
                       db, a[0], arith::MulFOp::create(db, xv, yv))};
                 })[0];
}

SmallVector<Value>
forallInsertMulti(ImplicitLocOpBuilder &b, ValueRange ubs, ValueRange inits,
                  function_ref<SmallVector<ForallSlice>(ImplicitLocOpBuilder &,
                                                        ValueRange)>
                      body) {
  return forallUpdate(b, ubs, inits,
                      [&](ImplicitLocOpBuilder &fb, ValueRange ivs,
                          ValueRange) { return body(fb, ivs); });
}

SmallVector<Value> forallUpdate(
    ImplicitLocOpBuilder &b, ValueRange ubs, ValueRange inits,
    function_ref<SmallVector<ForallSlice>(ImplicitLocOpBuilder &, ValueRange,
                                          ValueRange)>
        body) {
  // Iterations are independent work items (rows, queries); where they run
  // is the target's decision (the GPU pipeline maps them to blocks).
  auto forall = scf::ForallOp::create(b, getAsOpFoldResult(ubs), inits,
                                      /*mapping=*/std::nullopt, nullptr);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPoint(forall.getTerminator());
  SmallVector<ForallSlice> slices =
      body(b, forall.getInductionVars(), forall.getRegionIterArgs());
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  for (auto [slice, arg] : llvm::zip(slices, forall.getRegionIterArgs())) {
    SmallVector<OpFoldResult> strides(slice.offsets.size(), b.getIndexAttr(1));
    tensor::ParallelInsertSliceOp::create(b, slice.source, arg, slice.offsets,
                                          slice.sizes, strides);
  }
  return llvm::to_vector_of<Value>(forall.getResults());
}

Value extractRow(ImplicitLocOpBuilder &b, Value t,
                 ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes) {
  auto type = RankedTensorType::get(
      {ShapedType::kDynamic},
      cast<RankedTensorType>(t.getType()).getElementType());
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, type, t, offsets, sizes, strides);
}

Value candidateCount(ImplicitLocOpBuilder &b, Value i, Value m, Value n,
                     int64_t window) {
  Value pos = arith::SubIOp::create(b, arith::AddIOp::create(b, i, m), n);
  Value c = arith::AddIOp::create(b, pos, constIndex(b, 1 - window));
  return clampIndex(b, c, constIndex(b, 0), m);
}

Value arrivalQuery(ImplicitLocOpBuilder &b, Value j, Value m, Value n,
                   int64_t window) {
  Value at = arith::AddIOp::create(b, j, arith::AddIOp::create(
                                             b, n, constIndex(b, window)));
  return maxIndex(b, arith::SubIOp::create(b, at, m), constIndex(b, 0));
}

} // namespace mlir::sparsek::detail
