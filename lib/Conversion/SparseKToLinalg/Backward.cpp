//===- Backward.cpp - sparsek.attention_backward to linalg ------*- C++ -*-===//
//
//   sparsek.attention_backward
//     => the forward's selection (thresholds, top-k) and, per query, the
//        size |F_i| of its mask's fractional set (two heap sweeps: keys
//        below tau_i + 1, keys at or below tau_i; both only grow);
//        then scf.forall over (B, Hkv) rows; per row, sequentially over the
//        group's heads and the queries: the logits of the query's keys
//        again (max and denominator), then per key dl_ij and the updates of
//        dq_i, dkey_j, dvalue_j, du_j (direct part) and dtau_i
//        (docs/Semantics.md section 9); finally the threshold term: the
//        queries with l in F_i form one range [lo_l, hi_l) (thresholds
//        never decrease), found by binary search over tau, and
//        du_l += G[hi_l] - G[lo_l] with G the prefix sums of
//        dtau_i / |F_i|. O(Hq/Hkv N (k + w) (D + Dv) + M log N) per row.
//
// Accumulation in f32; results in the element types of q, key, value. The
// optional lse operand (the forward's log-sum-exp) is not read: each query's
// softmax is found again, which gives the same results.
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

constexpr double kInf = std::numeric_limits<double>::infinity();

Value extract(ImplicitLocOpBuilder &b, Value t, ValueRange idx) {
  return tensor::ExtractOp::create(b, t, idx);
}

Value insert(ImplicitLocOpBuilder &b, Value v, Value t, ValueRange idx) {
  return tensor::InsertOp::create(b, v, t, idx);
}

Value cmpf(ImplicitLocOpBuilder &b, arith::CmpFPredicate p, Value x,
           Value y) {
  return arith::CmpFOp::create(b, p, x, y);
}

Value cmpi(ImplicitLocOpBuilder &b, arith::CmpIPredicate p, Value x, Value y) {
  return arith::CmpIOp::create(b, p, x, y);
}

Value filled(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape,
             ValueRange sizes, Type elem, Value v) {
  return linalg::FillOp::create(b, ValueRange{v},
                                ValueRange{scratchTensor(b, shape, sizes, elem)})
      .getResult(0);
}

/// |F_i| per query of one row, as f32 [nSel]: #{l < c_i : u_l < tau_i + 1}
/// - #{l < c_i : u_l <= tau_i}, each count kept by a sweep with a min-heap
/// of the candidates not yet counted (tau only grows, so every key is
/// counted once in each).
Value fracCounts(ImplicitLocOpBuilder &b, Value u, Value tau, Value bi,
                 Value g, Value m, Value nSel, int64_t window) {
  Type f32 = b.getF32Type();
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  Heap below1 = heapCreate(b, m), below0 = heapCreate(b, m);
  Value counts = scratchTensor(b, {ShapedType::kDynamic}, nSel, f32);
  SmallVector<Value> inits = {below1.keys, below1.tags, below1.size,
                              below0.keys, below0.tags, below0.size,
                              zero,        zero,        zero,
                              counts};
  return forLoop(
      b, zero, nSel, inits,
      [&](ImplicitLocOpBuilder &lb, Value i, ValueRange it) {
        Value t = extract(lb, tau, {bi, g, i});
        Value t1 = arith::AddFOp::create(lb, t, constF32(lb, 1.0));
        Heap h1{it[0], it[1], it[2]}, h0{it[3], it[4], it[5]};
        Value n1 = it[6], n0 = it[7];
        // New candidates: counted now, or kept for later.
        Value c = candidateCount(lb, i, m, nSel, window);
        SmallVector<Value> grown = forLoop(
            lb, it[8], c, {h1.keys, h1.tags, h1.size, h0.keys, h0.tags,
                           h0.size, n1, n0},
            [&](ImplicitLocOpBuilder &ib, Value j, ValueRange st) {
              Value uj = extract(ib, u, {bi, g, j});
              Value tag = arith::IndexCastOp::create(ib, ib.getI32Type(), j);
              auto offer = [&](Heap h, Value cnt, Value counted) {
                SmallVector<Type> ty = {h.keys.getType(), h.tags.getType(),
                                        ib.getIndexType(), ib.getIndexType()};
                return ifElse(
                    ib, counted, ty,
                    [&](ImplicitLocOpBuilder &tb) {
                      return SmallVector<Value>{
                          h.keys, h.tags, h.size,
                          arith::AddIOp::create(tb, cnt, constIndex(tb, 1))};
                    },
                    [&](ImplicitLocOpBuilder &eb) {
                      Heap n = heapPush(eb, h, uj, tag);
                      return SmallVector<Value>{n.keys, n.tags, n.size, cnt};
                    });
              };
              SmallVector<Value> a =
                  offer(Heap{st[0], st[1], st[2]}, st[6],
                        cmpf(ib, arith::CmpFPredicate::OLT, uj, t1));
              SmallVector<Value> z =
                  offer(Heap{st[3], st[4], st[5]}, st[7],
                        cmpf(ib, arith::CmpFPredicate::OLE, uj, t));
              return SmallVector<Value>{a[0], a[1], a[2], z[0], z[1],
                                        z[2], a[3], z[3]};
            });
        // Keys the threshold has now passed.
        auto drain = [&](Heap h, Value cnt, arith::CmpFPredicate pred,
                         Value bound) {
          SmallVector<Value> st = {h.keys, h.tags, h.size, cnt};
          SmallVector<Type> ty = llvm::to_vector(ValueRange(st).getTypes());
          auto loop = scf::WhileOp::create(
              lb, ty, st,
              [&](OpBuilder &ob, Location loc, ValueRange a) {
                ImplicitLocOpBuilder nb(loc, ob);
                Heap cur{a[0], a[1], a[2]};
                Value has =
                    cmpi(nb, arith::CmpIPredicate::sgt, cur.size, zero);
                Value top = heapTop(nb, cur).first;
                Value go = arith::AndIOp::create(
                    nb, has, cmpf(nb, pred, top, bound));
                scf::ConditionOp::create(nb, go, a);
              },
              [&](OpBuilder &ob, Location loc, ValueRange a) {
                ImplicitLocOpBuilder nb(loc, ob);
                Heap n = heapPop(nb, Heap{a[0], a[1], a[2]});
                scf::YieldOp::create(
                    nb, ValueRange{n.keys, n.tags, n.size,
                                   arith::AddIOp::create(nb, a[3], one)});
              });
          return llvm::to_vector_of<Value>(loop.getResults());
        };
        SmallVector<Value> d1 = drain(Heap{grown[0], grown[1], grown[2]},
                                      grown[6], arith::CmpFPredicate::OLT, t1);
        SmallVector<Value> d0 = drain(Heap{grown[3], grown[4], grown[5]},
                                      grown[7], arith::CmpFPredicate::OLE, t);
        Value frac = arith::SubIOp::create(lb, d1[3], d0[3]);
        Value fracF = arith::UIToFPOp::create(
            lb, f32, arith::IndexCastOp::create(lb, lb.getI64Type(), frac));
        Value row = insert(lb, fracF, it[9], {i});
        return SmallVector<Value>{d1[0], d1[1], d1[2], d0[0], d0[1],
                                  d0[2], d1[3], d0[3], maxIndex(lb, it[8], c),
                                  row};
      })[9];
}

/// The gradient sweep of one (batch, KV head) row.
class RowBackward {
public:
  RowBackward(ImplicitLocOpBuilder &b, AttentionBackwardOp op, Value tau,
              Value idx, Value scale, Value bi, Value g, Value group,
              int64_t window, bool causal)
      : b(b), q(op.getQ()), key(op.getKey()), value(op.getValue()),
        u(op.getU()), out(op.getOut()), dout(op.getDout()), tau(tau),
        idx(idx), scale(scale), gate(op.getGate()), bi(bi), g(g),
        group(group), window(window), causal(causal),
        zero(constIndex(b, 0)), n(dimValue(b, q, 2)), m(dimValue(b, key, 2)),
        d(dimValue(b, q, 3)), dv(dimValue(b, value, 3)),
        kSel(dimValue(b, idx, 3)) {}

  /// dq of the group's heads [group, N, D], dkey [M, D], dvalue [M, Dv],
  /// du (direct part) [M] and dtau [nSel], all f32.
  SmallVector<Value> run(Value nSel) {
    Type f32 = b.getF32Type();
    Value zf = constF32(b, 0);
    int64_t dyn = ShapedType::kDynamic;
    SmallVector<Value> acc = {
        filled(b, {dyn, dyn, dyn}, {group, n, d}, f32, zf),
        filled(b, {dyn, dyn}, {m, d}, f32, zf),
        filled(b, {dyn, dyn}, {m, dv}, f32, zf),
        filled(b, {dyn}, {m}, f32, zf),
        filled(b, {dyn}, {nSel}, f32, zf)};
    return forLoop(
        b, zero, group, acc,
        [&](ImplicitLocOpBuilder &hb, Value hl, ValueRange a) {
          Value h = arith::AddIOp::create(
              hb, arith::MulIOp::create(hb, g, group), hl);
          return forLoop(hb, zero, n, a,
                         [&](ImplicitLocOpBuilder &qb, Value i, ValueRange s) {
                           return query(qb, hl, h, i, s);
                         });
        });
  }

private:
  /// The keys of query i: window rows [lo, end) and the entries of its
  /// selection row; for entry e of the combined list, its key index, gate
  /// weight, validity and whether it is selected.
  struct Key {
    Value j, m, valid, selected;
  };

  /// Visits every key of the query (the window, then the selection) with
  /// the state `init`.
  SmallVector<Value>
  forEachKey(ImplicitLocOpBuilder &pb, Value lo, Value end, Value si, Value t,
             ValueRange init,
             function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Key,
                                             ValueRange)>
                 fn) {
    Value yes = arith::ConstantIntOp::create(pb, 1, 1);
    Value no = arith::ConstantIntOp::create(pb, 0, 1);
    SmallVector<Value> st = forLoop(
        pb, lo, end, init,
        [&](ImplicitLocOpBuilder &wb, Value j, ValueRange a) {
          return fn(wb, Key{j, constF32(wb, 1), yes, no}, a);
        });
    return forLoop(
        pb, zero, kSel, st,
        [&](ImplicitLocOpBuilder &sb, Value e, ValueRange a) {
          SelectedKey k = selectedKey(sb, idx, {bi, g, si, e}, u, {bi, g}, t,
                                      lo, end, m, zero);
          return fn(sb, Key{k.j, k.weight, k.valid, yes}, a);
        });
  }

  /// The gated logit of a key (-inf when not valid) and q_i . key_j.
  std::pair<Value, Value> logit(ImplicitLocOpBuilder &pb, Value h, Value i,
                                const Key &k) {
    Value qk = dotProduct(pb, q, {bi, h, i}, key, {bi, g, k.j}, d);
    return {gatedLogit(pb, gate, scale, qk, k.m, k.valid), qk};
  }

  /// One query: its softmax again, then every key's contributions.
  SmallVector<Value> query(ImplicitLocOpBuilder &qb, Value hl, Value h,
                           Value i, ValueRange s) {
    Type f32 = qb.getF32Type();
    int64_t w = causal ? window : 0;
    Value si = causal ? i : zero;
    Value pos = causal ? arith::SubIOp::create(
                             qb, arith::AddIOp::create(qb, i, m), n)
                             .getResult()
                       : arith::SubIOp::create(qb, m, constIndex(qb, 1))
                             .getResult();
    Value end = arith::AddIOp::create(qb, pos, constIndex(qb, 1));
    Value lo = w > 0 ? maxIndex(qb,
                                arith::SubIOp::create(qb, end,
                                                      constIndex(qb, w)),
                                zero)
                     : end;
    Value t = extract(qb, tau, {bi, g, si});
    // Pass 1: the running max and denominator.
    SmallVector<Value> md = forEachKey(
        qb, lo, end, si, t, {constF32(qb, -kInf), constF32(qb, 0)},
        [&](ImplicitLocOpBuilder &kb, Key k, ValueRange a) {
          Value l = logit(kb, h, i, k).first;
          Value mx = arith::MaximumFOp::create(kb, a[0], l);
          Value skip = cmpf(kb, arith::CmpFPredicate::OEQ, mx,
                            constF32(kb, -kInf));
          Value alpha = arith::SelectOp::create(
              kb, skip, constF32(kb, 1),
              math::ExpOp::create(kb, arith::SubFOp::create(kb, a[0], mx)));
          Value p = arith::SelectOp::create(
              kb, skip, constF32(kb, 0),
              math::ExpOp::create(kb, arith::SubFOp::create(kb, l, mx)));
          return SmallVector<Value>{
              mx, arith::AddFOp::create(
                      kb, arith::MulFOp::create(kb, a[1], alpha), p)};
        });
    Value mx = md[0];
    Value live = arith::AndIOp::create(
        qb, cmpf(qb, arith::CmpFPredicate::OGT, md[1], constF32(qb, 0)),
        cmpf(qb, arith::CmpFPredicate::ONE, mx, constF32(qb, -kInf)));
    Value invDen = arith::SelectOp::create(
        qb, live, arith::DivFOp::create(qb, constF32(qb, 1), md[1]),
        constF32(qb, 0));
    Value delta = dotProduct(qb, dout, {bi, h, i}, out, {bi, h, i}, dv);
    // Pass 2: contributions. State: dq row [D], dkey, dvalue, du, dtau.
    Value dqRow = filled(qb, {ShapedType::kDynamic}, {d}, f32,
                         constF32(qb, 0));
    SmallVector<Value> st = {dqRow, s[1], s[2], s[3], s[4]};
    st = forEachKey(
        qb, lo, end, si, t, st,
        [&](ImplicitLocOpBuilder &kb, Key k, ValueRange a) {
          auto [l, qk] = logit(kb, h, i, k);
          Value p = arith::SelectOp::create(
              kb, k.valid,
              arith::MulFOp::create(
                  kb, math::ExpOp::create(kb, arith::SubFOp::create(kb, l, mx)),
                  invDen),
              constF32(kb, 0));
          p = arith::SelectOp::create(kb, live, p, constF32(kb, 0));
          Value dov = dotProduct(kb, dout, {bi, h, i}, value, {bi, g, k.j}, dv);
          bool valueGated = gate == Gate::kv || gate == Gate::v;
          Value dP = valueGated ? arith::MulFOp::create(kb, k.m, dov).getResult()
                                : dov;
          Value dl = arith::MulFOp::create(
              kb, p, arith::SubFOp::create(kb, dP, delta));
          Value coef = arith::MulFOp::create(kb, dl, scale);
          if (gate == Gate::kv)
            coef = arith::MulFOp::create(kb, coef, k.m);
          Value vw = valueGated ? arith::MulFOp::create(kb, p, k.m).getResult()
                                : p;
          // dq_i += coef key_j; dkey_j += coef q_i.
          SmallVector<Value> qk2 = forLoop(
              kb, zero, d, {a[0], a[1]},
              [&](ImplicitLocOpBuilder &cb, Value c, ValueRange x) {
                Value kv = castFloat(cb, extract(cb, key, {bi, g, k.j, c}),
                                     cb.getF32Type());
                Value qv = castFloat(cb, extract(cb, q, {bi, h, i, c}),
                                     cb.getF32Type());
                Value dqc = arith::AddFOp::create(
                    cb, extract(cb, x[0], {c}),
                    arith::MulFOp::create(cb, coef, kv));
                Value dkc = arith::AddFOp::create(
                    cb, extract(cb, x[1], {k.j, c}),
                    arith::MulFOp::create(cb, coef, qv));
                return SmallVector<Value>{insert(cb, dqc, x[0], {c}),
                                          insert(cb, dkc, x[1], {k.j, c})};
              });
          // dvalue_j += vw dout_i.
          Value dvNew = forLoop(
              kb, zero, dv, {a[2]},
              [&](ImplicitLocOpBuilder &cb, Value c, ValueRange x) {
                Value go = castFloat(cb, extract(cb, dout, {bi, h, i, c}),
                                     cb.getF32Type());
                Value nv = arith::AddFOp::create(
                    cb, extract(cb, x[0], {k.j, c}),
                    arith::MulFOp::create(cb, vw, go));
                return SmallVector<Value>{insert(cb, nv, x[0], {k.j, c})};
              })[0];
          // The gate weight's gradient, for selected keys strictly inside
          // (tau, tau + 1).
          Value dm;
          switch (gate) {
          case Gate::kv:
            // dl s d_ij + P dot(dout_i, value_j)
            dm = arith::AddFOp::create(
                kb,
                arith::MulFOp::create(kb, arith::MulFOp::create(kb, dl, scale),
                                      qk),
                arith::MulFOp::create(kb, p, dov));
            break;
          case Gate::v:
            dm = arith::MulFOp::create(kb, p, dov);
            break;
          case Gate::logit:
            dm = arith::SelectOp::create(
                kb, cmpf(kb, arith::CmpFPredicate::OGT, k.m, constF32(kb, 0)),
                arith::DivFOp::create(kb, dl, k.m), constF32(kb, 0));
            break;
          case Gate::none:
            dm = constF32(kb, 0);
            break;
          }
          Value uj = extract(kb, u, {bi, g, k.j});
          Value diff = arith::SubFOp::create(kb, uj, t);
          Value active = arith::AndIOp::create(
              kb,
              arith::AndIOp::create(
                  kb, k.selected,
                  arith::AndIOp::create(kb, k.valid, live)),
              arith::AndIOp::create(
                  kb,
                  arith::AndIOp::create(
                      kb,
                      cmpf(kb, arith::CmpFPredicate::ONE, t,
                           constF32(kb, -kInf)),
                      cmpf(kb, arith::CmpFPredicate::OGT, diff,
                           constF32(kb, 0))),
                  cmpf(kb, arith::CmpFPredicate::OLT, diff,
                       constF32(kb, 1))));
          Value adm = arith::SelectOp::create(kb, active, dm, constF32(kb, 0));
          Value du = insert(kb,
                            arith::AddFOp::create(
                                kb, extract(kb, a[3], {k.j}), adm),
                            a[3], {k.j});
          Value dt = insert(kb,
                            arith::SubFOp::create(
                                kb, extract(kb, a[4], {si}), adm),
                            a[4], {si});
          return SmallVector<Value>{qk2[0], qk2[1], dvNew, du, dt};
        });
    // dq_i into the group's rows.
    Value dqRows = forLoop(
        qb, zero, d, {s[0]},
        [&](ImplicitLocOpBuilder &cb, Value c, ValueRange x) {
          return SmallVector<Value>{
              insert(cb, extract(cb, st[0], {c}), x[0], {hl, i, c})};
        })[0];
    return {dqRows, st[1], st[2], st[3], st[4]};
  }

  ImplicitLocOpBuilder &b;
  Value q, key, value, u, out, dout, tau, idx, scale;
  Gate gate;
  Value bi, g, group;
  int64_t window;
  bool causal;
  Value zero, n, m, d, dv, kSel;
};

/// The first index in [0, len) whose tau satisfies `pred(tau, bound)`
/// (a predicate that, once true, stays true along the row), or len.
Value firstIndex(ImplicitLocOpBuilder &b, Value tau, ValueRange rowIdx,
                 Value len, arith::CmpFPredicate pred, Value bound) {
  SmallVector<Type> ty = {b.getIndexType(), b.getIndexType()};
  auto loop = scf::WhileOp::create(
      b, ty, ValueRange{constIndex(b, 0), len},
      [&](OpBuilder &ob, Location loc, ValueRange a) {
        ImplicitLocOpBuilder nb(loc, ob);
        scf::ConditionOp::create(
            nb, cmpi(nb, arith::CmpIPredicate::slt, a[0], a[1]), a);
      },
      [&](OpBuilder &ob, Location loc, ValueRange a) {
        ImplicitLocOpBuilder nb(loc, ob);
        Value mid = arith::AddIOp::create(
            nb, a[0],
            arith::ShRUIOp::create(nb, arith::SubIOp::create(nb, a[1], a[0]),
                                   constIndex(nb, 1)));
        SmallVector<Value> ix(rowIdx);
        ix.push_back(mid);
        Value ok = cmpf(nb, pred, extract(nb, tau, ix), bound);
        Value lo = arith::SelectOp::create(
            nb, ok, a[0], arith::AddIOp::create(nb, mid, constIndex(nb, 1)));
        Value hi = arith::SelectOp::create(nb, ok, mid, a[1]);
        scf::YieldOp::create(nb, ValueRange{lo, hi});
      });
  return loop.getResult(0);
}

/// du_l += sum over the queries with l in F_i of dtau_i / |F_i|.
Value thresholdTerm(ImplicitLocOpBuilder &b, Value u, Value tau, Value bi,
                    Value g, Value du, Value dtau, Value frac, Value m,
                    Value nSel, Value n, int64_t window, bool causal) {
  Type f32 = b.getF32Type();
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  Value len1 = arith::AddIOp::create(b, nSel, one);
  Value prefix = filled(b, {ShapedType::kDynamic}, {len1}, f32,
                        constF32(b, 0));
  prefix = forLoop(b, zero, nSel, {prefix},
                   [&](ImplicitLocOpBuilder &lb, Value i, ValueRange a) {
                     Value f = extract(lb, frac, {i});
                     Value share = arith::SelectOp::create(
                         lb,
                         cmpf(lb, arith::CmpFPredicate::OGT, f,
                              constF32(lb, 0)),
                         arith::DivFOp::create(lb, extract(lb, dtau, {i}), f),
                         constF32(lb, 0));
                     Value next = arith::AddFOp::create(
                         lb, extract(lb, a[0], {i}), share);
                     return SmallVector<Value>{insert(
                         lb, next, a[0],
                         {arith::AddIOp::create(lb, i, one)})};
                   })[0];
  return forLoop(
      b, zero, m, {du},
      [&](ImplicitLocOpBuilder &lb, Value l, ValueRange a) {
        Value ul = extract(lb, u, {bi, g, l});
        // First query whose prefix holds l: c_i > l.
        Value first;
        if (causal) {
          // c_i = i + M - N - w + 1 > l  <=>  i > l - (M - N - w + 1).
          Value base = arith::AddIOp::create(
              lb, arith::SubIOp::create(lb, m, n), constIndex(lb, 1 - window));
          first = clampIndex(
              lb,
              arith::AddIOp::create(lb, arith::SubIOp::create(lb, l, base),
                                    one),
              zero, nSel);
        } else {
          first = zero;
        }
        Value ia = firstIndex(
            lb, tau, {bi, g}, nSel, arith::CmpFPredicate::OGT,
            arith::SubFOp::create(lb, ul, constF32(lb, 1)));
        Value ib = firstIndex(lb, tau, {bi, g}, nSel,
                              arith::CmpFPredicate::OGE, ul);
        Value lo = maxIndex(lb, first, ia);
        Value hi = maxIndex(lb, ib, lo);
        Value add = arith::SubFOp::create(lb, extract(lb, prefix, {hi}),
                                          extract(lb, prefix, {lo}));
        return SmallVector<Value>{insert(
            lb, arith::AddFOp::create(lb, extract(lb, a[0], {l}), add), a[0],
            {l})};
      })[0];
}

/// `src` (f32) as a tensor of `elem` (src itself when it is f32).
Value convertElements(ImplicitLocOpBuilder &b, Value src, Type elem,
                      ValueRange sizes) {
  auto t = cast<RankedTensorType>(src.getType());
  if (t.getElementType() == elem)
    return src;
  SmallVector<AffineMap> maps(
      2, AffineMap::getMultiDimIdentityMap(t.getRank(), b.getContext()));
  return linalg::GenericOp::create(
             b, TypeRange{RankedTensorType::get(t.getShape(), elem)},
             ValueRange{src},
             ValueRange{emptyTensor(b, t.getShape(), sizes, elem)}, maps,
             SmallVector<utils::IteratorType>(t.getRank(),
                                              utils::IteratorType::parallel),
             [&](OpBuilder &ob, Location loc, ValueRange a) {
               ImplicitLocOpBuilder eb(loc, ob);
               linalg::YieldOp::create(
                   eb, ValueRange{castFloat(eb, a[0], elem)});
             })
      .getResult(0);
}

struct AttentionBackwardToLinalg : OpRewritePattern<AttentionBackwardOp> {
  AttentionBackwardToLinalg(MLIRContext *ctx, bool parallelSelection)
      : OpRewritePattern(ctx), parallelSelection(parallelSelection) {}
  bool parallelSelection;
  LogicalResult matchAndRewrite(AttentionBackwardOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    bool causal = op.getCausal();
    int64_t k = op.getKAttr().getInt();
    int64_t window = causal ? op.getWindowAttr().getInt() : 0;
    Value q = op.getQ(), key = op.getKey(), value = op.getValue(),
          u = op.getU();
    Value batch = dimValue(b, q, 0), hq = dimValue(b, q, 1),
          n = dimValue(b, q, 2), d = dimValue(b, q, 3),
          hkv = dimValue(b, key, 1), m = dimValue(b, key, 2),
          dv = dimValue(b, value, 3);
    // The forward's selection: per query (causal) or once (non-causal, the
    // query at M - 1 with window 0).
    Value nSel = causal ? n : constIndex(b, 1);
    // Named values, not structured bindings: the lambdas below capture them.
    auto selection = buildSelection(
        b, u, k, window, nSel, causal ? op.getQ().getType().getDimSize(2) : 1,
        parallelSelection);
    Value tau = selection.first, idx = selection.second;
    Value group =
        arith::DivUIOp::create(b, hq, maxIndex(b, hkv, constIndex(b, 1)));
    Value scale = softmaxScale(b, op.getStaticScale(), op.getQ());

    Type f32 = b.getF32Type();
    int64_t dyn = ShapedType::kDynamic;
    SmallVector<Value> inits = {
        emptyTensor(b, {dyn, dyn, dyn, dyn}, {batch, hq, n, d}, f32),
        emptyTensor(b, {dyn, dyn, dyn, dyn}, {batch, hkv, m, d}, f32),
        emptyTensor(b, {dyn, dyn, dyn, dyn}, {batch, hkv, m, dv}, f32),
        emptyTensor(b, {dyn, dyn, dyn}, {batch, hkv, m}, f32)};
    SmallVector<Value> grads = forallInsertMulti(
        b, {batch, hkv}, inits,
        [&](ImplicitLocOpBuilder &fb, ValueRange ivs) {
          Value bi = ivs[0], g = ivs[1];
          RowBackward row(fb, op, tau, idx, scale, bi, g, group, window,
                          causal);
          SmallVector<Value> r = row.run(nSel);
          Value frac = fracCounts(fb, u, tau, bi, g, m, nSel, window);
          Value du = thresholdTerm(fb, u, tau, bi, g, r[3], r[4], frac, m,
                                   nSel, n, window, causal);
          auto idx4 = [&](Value a, Value c) {
            return SmallVector<OpFoldResult>{a, c, fb.getIndexAttr(0),
                                             fb.getIndexAttr(0)};
          };
          OpFoldResult one = fb.getIndexAttr(1);
          Value h0 = arith::MulIOp::create(fb, g, group);
          SmallVector<ForallSlice> slices(4);
          // [group, N, D] rows at heads [g * group, ...); the others as
          // [1, 1, ...] slices of the row.
          slices[0] = {r[0], idx4(bi, h0), {one, group, n, d}};
          slices[1] = {r[1], idx4(bi, g), {one, one, m, d}};
          slices[2] = {r[2], idx4(bi, g), {one, one, m, dv}};
          slices[3] = {du, {bi, g, fb.getIndexAttr(0)}, {one, one, m}};
          // The slices drop no dims: reshape the row tensors to rank 4/3.
          auto expand = [&](Value t, ArrayRef<ReassociationIndices> re,
                            ArrayRef<OpFoldResult> shape) {
            SmallVector<int64_t> st;
            for (OpFoldResult s : shape)
              st.push_back(isa<Attribute>(s)
                               ? cast<IntegerAttr>(cast<Attribute>(s)).getInt()
                               : ShapedType::kDynamic);
            auto type = RankedTensorType::get(st, f32);
            return tensor::ExpandShapeOp::create(fb, type, t, re, shape)
                .getResult();
          };
          slices[0].source = expand(r[0], {{0, 1}, {2}, {3}},
                                    {one, group, n, d});
          slices[1].source = expand(r[1], {{0, 1, 2}, {3}}, {one, one, m, d});
          slices[2].source = expand(r[2], {{0, 1, 2}, {3}}, {one, one, m, dv});
          slices[3].source = expand(du, {{0, 1, 2}}, {one, one, m});
          return slices;
        });
    SmallVector<Value> results = {
        convertElements(b, grads[0], getElementTypeOrSelf(op.getDq()),
                {batch, hq, n, d}),
        convertElements(b, grads[1], getElementTypeOrSelf(op.getDkey()),
                {batch, hkv, m, d}),
        convertElements(b, grads[2], getElementTypeOrSelf(op.getDvalue()),
                {batch, hkv, m, dv}),
        grads[3]};
    for (auto [r, want] : llvm::zip(results, op->getResultTypes()))
      if (r.getType() != want)
        r = tensor::CastOp::create(b, want, r);
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// The backward in block form: sparsek.attention_backward given lse (its
/// lowering above); the selection operands are not read, the lowering
/// selects again (the op's documented choice for the CPU).
struct BlockAttentionBackwardToLayer
    : OpRewritePattern<BlockAttentionBackwardOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BlockAttentionBackwardOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<AttentionBackwardOp>(
        op, op->getResultTypes(), op.getQ(), op.getKey(), op.getValue(),
        op.getU(), op.getOut(), op.getDout(), op.getLse(), op.getKAttr(),
        op.getWindowAttr(), rewriter.getBoolAttr(true), op.getScaleAttr(),
        op.getGateAttr(), /*deterministic=*/nullptr);
    return success();
  }
};

} // namespace


void populateBackwardPatterns(RewritePatternSet &patterns,
                              bool parallelSelection) {
  patterns.add<AttentionBackwardToLinalg>(patterns.getContext(),
                                          parallelSelection);
  patterns.add<BlockAttentionBackwardToLayer>(patterns.getContext());
}

} // namespace mlir::sparsek::detail
