//===- Heap.cpp - binary min-heaps on tensors -------------------*- C++ -*-===//
//
// Sift-up and sift-down as scf.while loops over tensors (or memrefs).
// Elements are (key: f32, tag: i32) pairs ordered lexicographically, so
// that equal keys break ties by tag (sparsek.topk evicts the older of two
// equal scores).
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::sparsek::detail {

namespace {

// A heap's storage is a pair of 1-D tensors (value semantics: each update
// returns the new tensor) or, inside a kernel after bufferization, a pair of
// 1-D memrefs (updated in place; the "new" storage is the same memref).
Value extract(ImplicitLocOpBuilder &b, Value t, Value i) {
  if (isa<MemRefType>(t.getType()))
    return memref::LoadOp::create(b, t, ValueRange{i});
  return tensor::ExtractOp::create(b, t, ValueRange{i});
}

Value insert(ImplicitLocOpBuilder &b, Value v, Value t, Value i) {
  if (isa<MemRefType>(t.getType())) {
    memref::StoreOp::create(b, v, t, ValueRange{i});
    return t;
  }
  return tensor::InsertOp::create(b, v, t, ValueRange{i});
}

Value select(ImplicitLocOpBuilder &b, Value c, Value x, Value y) {
  return arith::SelectOp::create(b, c, x, y);
}

/// One sift loop. `step` computes, from the hole, (continue?, child index,
/// child key, child tag); while it continues, the child moves into the hole
/// and the hole moves to the child. Finally (key, tag) fills the hole.
template <typename StepFn>
std::pair<Value, Value> sift(ImplicitLocOpBuilder &b, Value keys, Value tags,
                             Value hole, Value key, Value tag, StepFn step) {
  Type idx = b.getIndexType();
  SmallVector<Type> fwd = {keys.getType(), tags.getType(), idx, idx,
                           b.getF32Type(), b.getI32Type()};
  auto loop = scf::WhileOp::create(
      b, fwd, ValueRange{keys, tags, hole},
      [&](OpBuilder &ob, Location loc, ValueRange args) {
        ImplicitLocOpBuilder nb(loc, ob);
        auto [cond, child, ck, ct] = step(nb, args[0], args[1], args[2]);
        scf::ConditionOp::create(
            nb, cond, ValueRange{args[0], args[1], args[2], child, ck, ct});
      },
      [&](OpBuilder &ob, Location loc, ValueRange args) {
        ImplicitLocOpBuilder nb(loc, ob);
        Value k = insert(nb, args[4], args[0], args[2]);
        Value t = insert(nb, args[5], args[1], args[2]);
        scf::YieldOp::create(nb, ValueRange{k, t, args[3]});
      });
  Value h = loop.getResult(2);
  return {insert(b, key, loop.getResult(0), h),
          insert(b, tag, loop.getResult(1), h)};
}

/// Sift-up from `hole`: the parent moves down while (key, tag) < parent.
std::pair<Value, Value> siftUp(ImplicitLocOpBuilder &b, Value keys,
                               Value tags, Value hole, Value key, Value tag) {
  return sift(b, keys, tags, hole, key, tag,
              [&](ImplicitLocOpBuilder &nb, Value ks, Value ts, Value h) {
                Value zero = constIndex(nb, 0), one = constIndex(nb, 1),
                      two = constIndex(nb, 2);
                // divsi rounds towards zero: the root is its own parent.
                Value parent = arith::DivSIOp::create(
                    nb, arith::SubIOp::create(nb, h, one), two);
                Value pk = extract(nb, ks, parent),
                      pt = extract(nb, ts, parent);
                Value cond = arith::AndIOp::create(
                    nb,
                    arith::CmpIOp::create(nb, arith::CmpIPredicate::sgt, h,
                                          zero),
                    pairLess(nb, key, tag, pk, pt));
                return std::make_tuple(cond, parent, pk, pt);
              });
}

/// Sift-down from `hole` in a heap of `size` elements: the smaller child
/// moves up while it is smaller than (key, tag).
std::pair<Value, Value> siftDown(ImplicitLocOpBuilder &b, Value keys,
                                 Value tags, Value size, Value hole,
                                 Value key, Value tag) {
  return sift(
      b, keys, tags, hole, key, tag,
      [&](ImplicitLocOpBuilder &nb, Value ks, Value ts, Value h) {
        Value zero = constIndex(nb, 0), one = constIndex(nb, 1),
              two = constIndex(nb, 2);
        Value l = arith::AddIOp::create(nb, arith::MulIOp::create(nb, h, two),
                                        one);
        Value r = arith::AddIOp::create(nb, l, one);
        // Clamped reads stay in bounds; their values are masked below.
        Value last = maxIndex(nb, arith::SubIOp::create(nb, size, one), zero);
        Value lc = minIndex(nb, l, last), rc = minIndex(nb, r, last);
        Value lk = extract(nb, ks, lc), lt = extract(nb, ts, lc);
        Value rk = extract(nb, ks, rc), rt = extract(nb, ts, rc);
        Value useR = arith::AndIOp::create(
            nb, arith::CmpIOp::create(nb, arith::CmpIPredicate::slt, r, size),
            pairLess(nb, rk, rt, lk, lt));
        Value c = select(nb, useR, r, l);
        Value ck = select(nb, useR, rk, lk), ct = select(nb, useR, rt, lt);
        Value cond = arith::AndIOp::create(
            nb, arith::CmpIOp::create(nb, arith::CmpIPredicate::slt, l, size),
            pairLess(nb, ck, ct, key, tag));
        return std::make_tuple(cond, c, ck, ct);
      });
}

} // namespace

Value pairLess(ImplicitLocOpBuilder &b, Value k1, Value t1, Value k2,
               Value t2) {
  Value lt = arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, k1, k2);
  Value eq = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, k1, k2);
  Value tl = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, t1, t2);
  return arith::OrIOp::create(b, lt, arith::AndIOp::create(b, eq, tl));
}

Heap heapCreate(ImplicitLocOpBuilder &b, Value capacity) {
  // Filled, although only the first `size` entries are ever used: sift-up
  // from an empty heap and the top of an empty heap read entry 0 (their
  // values are masked), and reads of memory nothing wrote are what
  // compute-sanitizer's initcheck reports. O(capacity) beside the sweeps'
  // O(capacity log capacity).
  auto filled = [&](Type elem, Value v) {
    Value t = scratchTensor(b, {ShapedType::kDynamic}, capacity, elem);
    return linalg::FillOp::create(b, ValueRange{v}, ValueRange{t})
        .getResult(0);
  };
  Heap h;
  h.keys = filled(b.getF32Type(), constF32(b, 0.0));
  h.tags = filled(b.getI32Type(), constI32(b, 0));
  h.size = constIndex(b, 0);
  return h;
}

Heap heapPush(ImplicitLocOpBuilder &b, Heap h, Value key, Value tag) {
  auto [k, t] = siftUp(b, h.keys, h.tags, h.size, key, tag);
  return {k, t, arith::AddIOp::create(b, h.size, constIndex(b, 1))};
}

Heap heapPop(ImplicitLocOpBuilder &b, Heap h) {
  Value size = arith::SubIOp::create(b, h.size, constIndex(b, 1));
  Value lk = extract(b, h.keys, size), lt = extract(b, h.tags, size);
  auto [k, t] = siftDown(b, h.keys, h.tags, size, constIndex(b, 0), lk, lt);
  return {k, t, size};
}

Heap heapReplaceTop(ImplicitLocOpBuilder &b, Heap h, Value key, Value tag) {
  auto [k, t] =
      siftDown(b, h.keys, h.tags, h.size, constIndex(b, 0), key, tag);
  return {k, t, h.size};
}

std::pair<Value, Value> heapTop(ImplicitLocOpBuilder &b, Heap h) {
  Value zero = constIndex(b, 0);
  return {extract(b, h.keys, zero), extract(b, h.tags, zero)};
}

} // namespace mlir::sparsek::detail
