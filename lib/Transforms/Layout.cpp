//===- Layout.cpp - run-time layout checks of memref views ------*- C++ -*-===//
//
// Layout.h.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Transforms/Layout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

Value mlir::sparsek::isRowMajorAtRunTime(OpBuilder &b, Location loc,
                                         Value view) {
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, view);
  auto index = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  auto eq = [&](Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y)
        .getResult();
  };
  Value ok = eq(meta.getOffset(), index(0));
  Value expected = index(1);
  for (int64_t d = cast<MemRefType>(view.getType()).getRank() - 1; d >= 0;
       --d) {
    Value size = meta.getSizes()[d];
    Value trivial = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                          size, index(1));
    ok = arith::AndIOp::create(
        b, loc, ok,
        arith::OrIOp::create(b, loc, trivial,
                             eq(meta.getStrides()[d], expected)));
    expected = arith::MulIOp::create(b, loc, expected, size);
  }
  return ok;
}
