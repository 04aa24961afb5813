//===- ThresholdTermKernel.cpp - du's threshold term on the GPU -----------===//
//
// The threshold term of sparsek.attention_backward's du (docs/Semantics.md
// section 9), causal: key l is fractional for the queries i in
// [lo_l, hi_l), lo_l = max(i0_l, first i with tau_i > u_l - 1) (i0_l: the
// first query whose candidates hold l) and hi_l = max(lo_l, first i with
// tau_i >= u_l) (thresholds never decrease along the row), so
//
//   |F_i| = #{l : lo_l <= i < hi_l}  and  du_l += G[hi_l] - G[lo_l],
//   G[i] = sum_{i' < i} dtau_i' / |F_i'|.
//
// Three launches, no floating-point atomics (the result does not depend on
// the order of the threads):
//   1. per key (one thread each): lo_l, hi_l by binary searches over the
//      row's tau, and +1 at lo_l, -1 at hi_l in an integer histogram;
//   2. per row (one block of kScanThreads): |F_i| as the histogram's
//      prefix sum, then G, tile by tile of kScanThreads x kPerThread
//      queries (kPerThread consecutive ones per thread, scanned in
//      registers; the threads' totals by warp shuffles and the warps'
//      totals through shared memory);
//   3. per key: du_l += G[hi_l] - G[lo_l].
// O(M log N + N) work per row, depth O(log N + N / (kScanThreads kPerThread)).
//
// Also the backward's last step: dkey and dvalue, accumulated in f32, into
// their 16-bit element types (stub kind "narrow"): one thread per 8
// consecutive elements of a row, two 16-byte f32 loads, one cvt per pair
// and a 16-byte store (a generic conversion was one element per thread and
// integer rounding code).
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "Emitters.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/Support/FormatVariadic.h"

namespace mlir::sparsek::gpu_kernels {

namespace {

constexpr int64_t kKeyThreads = 128;
constexpr int64_t kScanThreads = 1024;
/// Consecutive queries per scan thread and tile.
constexpr int64_t kPerThread = 8;

using P = arith::CmpIPredicate;

struct Builder : ScalarOps {
  void store(Value v, Value m, ValueRange i) {
    memref::StoreOp::create(b, v, m, i);
  }
  /// Blocks of `threads` covering `count` threads (at least one).
  Value blocksFor(Value count, int64_t threads) {
    return maxI(divu(add(count, idx(threads - 1)), idx(threads)), idx(1));
  }
  Value dim(Value m, int64_t i) { return memref::DimOp::create(b, m, i); }
  /// for i in [lo, hi) by `step` with loop-carried `init`.
  SmallVector<Value> loop(Value lo, Value hi, int64_t step, ValueRange init,
                          function_ref<SmallVector<Value>(Value, ValueRange)>
                              body) {
    auto op = scf::ForOp::create(b, lo, hi, idx(step), init);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(op.getBody());
    scf::YieldOp::create(
        b, body(op.getInductionVar(), op.getRegionIterArgs()));
    return SmallVector<Value>(op.getResults());
  }
  /// The first i in [0, n) with `tau[row..., i] pred bound` (monotone
  /// along the row: once true, true), or n.
  Value firstIndex(Value tau, ValueRange row, Value n,
                   arith::CmpFPredicate pred, Value bound) {
    SmallVector<Type> ty = {b.getIndexType(), b.getIndexType()};
    auto w = scf::WhileOp::create(
        b, ty, ValueRange{idx(0), n},
        [&](OpBuilder &ob, Location loc, ValueRange a) {
          ImplicitLocOpBuilder nb(loc, ob);
          scf::ConditionOp::create(
              nb, arith::CmpIOp::create(nb, P::slt, a[0], a[1]), a);
        },
        [&](OpBuilder &ob, Location loc, ValueRange a) {
          ImplicitLocOpBuilder nb(loc, ob);
          Builder h{nb};
          Value mid = h.add(a[0], arith::ShRUIOp::create(nb, h.sub(a[1], a[0]),
                                                         h.idx(1)));
          SmallVector<Value> at(row);
          at.push_back(mid);
          Value ok = arith::CmpFOp::create(nb, pred, h.load(tau, at), bound);
          Value lo = h.sel(ok, a[0], h.add(mid, h.idx(1)));
          Value hi = h.sel(ok, mid, a[1]);
          scf::YieldOp::create(nb, ValueRange{lo, hi});
        });
    return w.getResult(0);
  }
};

/// Exclusive scan of the threads' values `v` (i32 or f32) over a block of
/// kScanThreads: (this thread's exclusive prefix, the block's total). Warp
/// scans by shuffles (the exclusive prefix is the inclusive one of the
/// lane below: no subtraction), the warps' totals through the workgroup
/// buffer `shared` (kScanThreads / 32 elements); the additions happen in
/// a fixed order. The threads read `shared` after the scan's barrier: a
/// later scan may write it only after another barrier.
std::pair<Value, Value> blockScan(Builder &h, Value v, Value shared, Value tid) {
  ImplicitLocOpBuilder &b = h.b;
  constexpr int64_t kWarps = kScanThreads / 32;
  Value lane = h.remu(tid, h.idx(32)), warp = h.divu(tid, h.idx(32));
  Value laneI32 = h.toI32(lane);
  bool isF = isa<FloatType>(v.getType());
  Value zero = isF ? constF32(b, 0.0) : constI32(b, 0);
  auto plus = [&](Value x, Value y) -> Value {
    if (isF)
      return arith::AddFOp::create(b, x, y);
    return arith::AddIOp::create(b, x, y);
  };
  for (int32_t off = 1; off < 32; off *= 2) {
    Value up = gpu::ShuffleOp::create(b, v, off, 32, gpu::ShuffleMode::UP)
                   .getShuffleResult();
    Value has = h.cmpI(P::sge, laneI32, constI32(b, off));
    v = plus(v, h.sel(has, up, zero));
  }
  h.ifThen(h.cmpI(P::eq, lane, h.idx(31)),
           [&] { memref::StoreOp::create(b, v, shared, ValueRange{warp}); });
  Value below = gpu::ShuffleOp::create(b, v, 1, 32, gpu::ShuffleMode::UP)
                    .getShuffleResult();
  Value excl = h.sel(h.cmpI(P::sge, laneI32, constI32(b, 1)), below, zero);
  gpu::BarrierOp::create(b);
  Value before = zero, total = zero;
  for (int64_t w = 0; w < kWarps; ++w) {
    Value t = h.load(shared, {h.idx(w)});
    before = plus(before, h.sel(h.cmpI(P::ult, h.idx(w), warp), t, zero));
    total = plus(total, t);
  }
  return {plus(before, excl), total};
}

/// A gpu.launch of `blocks` x `threads`; `body(tid, bid)` inside.
void launch(ImplicitLocOpBuilder &b, Value blocks, int64_t threads,
            function_ref<void(Value, Value)> body) {
  Value one = constIndex(b, 1);
  auto op = gpu::LaunchOp::create(b, blocks, one, one,
                                  constIndex(b, threads), one, one);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&op.getBody().front());
  body(op.getThreadIds().x, op.getBlockIds().x);
  gpu::TerminatorOp::create(b);
}

} // namespace

void buildThresholdTermLaunches(ImplicitLocOpBuilder &b, ModuleOp module,
                                int64_t window, ArrayRef<Value> operands) {
  Value u = operands[0], tau = operands[1], dtau = operands[2],
        du = operands[3], hist = operands[4], bounds = operands[5],
        prefix = operands[6];
  Builder h{b};
  Value batch = h.dim(u, 0), heads = h.dim(u, 1), m = h.dim(u, 2),
        n = h.dim(tau, 2);
  Value rows = h.mul(batch, heads);
  Value keys = h.mul(rows, m);
  Value keyBlocks = h.blocksFor(keys, kKeyThreads);
  Type f32 = b.getF32Type(), i32 = b.getI32Type();

  // Per key: (row, l) of flat key id.
  auto keyOf = [&](Builder &k, Value tid, Value bid) {
    Value id = k.add(k.mul(bid, k.idx(kKeyThreads)), tid);
    Value l = k.remu(id, m), r = k.divu(id, m);
    return std::make_tuple(id, k.divu(r, heads), k.remu(r, heads), l);
  };

  // 1. lo_l, hi_l and the histogram.
  launch(b, keyBlocks, kKeyThreads, [&](Value tid, Value bid) {
    auto [id, bi, g, l] = keyOf(h, tid, bid);
    h.ifThen(h.cmpI(P::ult, id, keys), [&] {
      Value ul = h.load(u, {bi, g, l});
      // First query whose candidates [0, c_i) hold l:
      // c_i = i + M - N + 1 - w > l.
      Value base = h.add(h.sub(m, n), h.idx(1 - window));
      Value first = h.minI(h.maxI(h.add(h.sub(l, base), h.idx(1)), h.idx(0)),
                           n);
      Value below1 = arith::SubFOp::create(b, ul, constF32(b, 1.0));
      Value ia = h.firstIndex(tau, {bi, g}, n, arith::CmpFPredicate::OGT,
                              below1);
      Value ib = h.firstIndex(tau, {bi, g}, n, arith::CmpFPredicate::OGE, ul);
      Value lo = h.maxI(first, ia), hi = h.maxI(ib, lo);
      h.store(h.toI32(lo), bounds, {bi, g, l, h.idx(0)});
      h.store(h.toI32(hi), bounds, {bi, g, l, h.idx(1)});
      h.ifThen(h.cmpI(P::slt, lo, hi), [&] {
        memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi,
                                    constI32(b, 1), hist, ValueRange{bi, g, lo});
        memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi,
                                    constI32(b, -1), hist, ValueRange{bi, g, hi});
      });
    });
  });

  // 2. Per row (one block): |F_i| = inclusive prefix sums of the
  // histogram, G = exclusive prefix sums of dtau_i / |F_i|, tile by tile
  // (below), the row's running totals carried from tile to tile. The
  // additions happen in a fixed order: the result does not depend on the
  // threads' timing. (Measured at N = 65536, two rows: one strided chunk
  // per thread with thread 0 scanning the totals, 264 us; tiles of one
  // query per thread, 207 us: a chain of 64 tiles' load latencies.)
  MLIRContext *ctx = b.getContext();
  auto wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  constexpr int64_t kWarps = kScanThreads / 32;
  auto totalsType =
      MemRefType::get({kWarps}, f32, MemRefLayoutAttrInterface{}, wg);
  auto countsType =
      MemRefType::get({kWarps}, i32, MemRefLayoutAttrInterface{}, wg);
  const char *totalsName = "sparsek_threshold_term_totals";
  const char *countsName = "sparsek_threshold_term_counts";
  declareWorkgroupGlobal(module, b.getLoc(), totalsName, totalsType, 16);
  declareWorkgroupGlobal(module, b.getLoc(), countsName, countsType, 16);
  launch(b, h.maxI(rows, h.idx(1)), kScanThreads, [&](Value tid, Value bid) {
    h.ifThen(h.cmpI(P::ult, bid, rows), [&] {
      Value bi = h.divu(bid, heads), g = h.remu(bid, heads);
      Value totals = memref::GetGlobalOp::create(b, totalsType, totalsName);
      Value counts = memref::GetGlobalOp::create(b, countsType, countsName);
      Value zeroI = constI32(b, 0);
      Value zeroF = constF32(b, 0.0);
      auto scan = [&](Value v, Value shared) {
        return blockScan(h, v, shared, tid);
      };
      h.ifThen(h.cmpI(P::eq, tid, h.idx(0)),
               [&] { h.store(zeroF, prefix, {bi, g, h.idx(0)}); });
      // Tiles of kScanThreads x kPerThread queries, kPerThread consecutive
      // ones per thread (their loads all in flight at once): per tile the
      // thread's own prefix sums, then one block scan of the threads'
      // totals for |F| and one for G.
      h.loop(h.idx(0), n, kScanThreads * kPerThread, {zeroI, zeroF},
             [&](Value base, ValueRange carry) -> SmallVector<Value> {
        Value cntCarry = carry[0], gCarry = carry[1];
        Value first = h.add(base, h.mul(tid, h.idx(kPerThread)));
        Value last = h.sub(n, h.idx(1));
        SmallVector<Value> is, ins, cs, ds;
        for (int64_t e = 0; e < kPerThread; ++e) {
          Value i = h.add(first, h.idx(e));
          Value at = h.minI(i, last);
          is.push_back(i);
          ins.push_back(h.cmpI(P::ult, i, n));
          cs.push_back(h.load(hist, {bi, g, at}));
          ds.push_back(h.load(dtau, {bi, g, at}));
        }
        // The thread's inclusive prefixes of the histogram.
        SmallVector<Value> lc;
        Value acc = zeroI;
        for (int64_t e = 0; e < kPerThread; ++e) {
          acc = arith::AddIOp::create(b, acc, h.sel(ins[e], cs[e], zeroI));
          lc.push_back(acc);
        }
        auto [cOff, cTotal] = scan(acc, counts);
        Value cBase = arith::AddIOp::create(b, cntCarry, cOff);
        SmallVector<Value> ls;
        Value sacc = zeroF;
        for (int64_t e = 0; e < kPerThread; ++e) {
          Value f = arith::AddIOp::create(b, cBase, lc[e]);
          Value ff = arith::SIToFPOp::create(b, f32, f);
          Value sh = arith::DivFOp::create(b, ds[e], ff);
          Value share =
              h.sel(h.andI(ins[e], h.cmpI(P::sgt, f, zeroI)), sh, zeroF);
          sacc = e ? arith::AddFOp::create(b, sacc, share).getResult() : share;
          ls.push_back(sacc);
        }
        auto [sOff, sTotal] = scan(sacc, totals);
        Value gBase = arith::AddFOp::create(b, gCarry, sOff);
        for (int64_t e = 0; e < kPerThread; ++e)
          h.ifThen(ins[e], [&] {
            h.store(arith::AddFOp::create(b, gBase, ls[e]), prefix,
                    {bi, g, h.add(is[e], h.idx(1))});
          });
        return {arith::AddIOp::create(b, cntCarry, cTotal),
                arith::AddFOp::create(b, gCarry, sTotal)};
      });
    });
  });

  // 3. du_l += G[hi_l] - G[lo_l].
  launch(b, keyBlocks, kKeyThreads, [&](Value tid, Value bid) {
    auto [id, bi, g, l] = keyOf(h, tid, bid);
    h.ifThen(h.cmpI(P::ult, id, keys), [&] {
      Value lo = h.toIdx(h.load(bounds, {bi, g, l, h.idx(0)}));
      Value hi = h.toIdx(h.load(bounds, {bi, g, l, h.idx(1)}));
      Value add = arith::SubFOp::create(b, h.load(prefix, {bi, g, hi}),
                                        h.load(prefix, {bi, g, lo}));
      h.store(arith::AddFOp::create(b, h.load(du, {bi, g, l}), add), du,
              {bi, g, l});
    });
  });
}

SmallVector<Type> narrowStubOperandTypes(MLIRContext *ctx, Type elem) {
  return {dynStridedMemRef(ctx, 4, Float32Type::get(ctx)),
          dynStridedMemRef(ctx, 4, elem)};
}

func::FuncOp getOrCreateNarrowStub(ModuleOp module, Type elem) {
  return getOrCreateStub(
      module,
      std::string("sparsek_narrow_f32_") + (elem.isBF16() ? "bf16" : "f16"),
      narrowStubOperandTypes(module.getContext(), elem), "narrow",
      [&](OpBuilder &, NamedAttrList &attrs) {
        attrs.append("elem", TypeAttr::get(elem));
      });
}

/// The f16 or bf16 `elem` of a stub of kind `kind`, nullopt otherwise.
static std::optional<Type> stubElemOfKind(func::FuncOp f, StringRef kind) {
  DictionaryAttr dict = stubAttrsOfKind(f, {kind});
  auto elem = dict ? dict.getAs<TypeAttr>("elem") : TypeAttr();
  if (!elem || !(elem.getValue().isF16() || elem.getValue().isBF16()))
    return std::nullopt;
  return elem.getValue();
}

std::optional<Type> narrowStubElem(func::FuncOp f) {
  return stubElemOfKind(f, "narrow");
}

void buildNarrowLaunch(ImplicitLocOpBuilder &b, Type elem,
                       ArrayRef<Value> operands) {
  constexpr int64_t kThreads = 256, kVec = 8;
  Value src = operands[0], dst = operands[1];
  Builder h{b};
  Value d1 = h.dim(src, 1), d2 = h.dim(src, 2), width = h.dim(src, 3);
  Value rows = h.mul(h.mul(h.dim(src, 0), d1), d2);
  Value perRow = h.divu(h.add(width, h.idx(kVec - 1)), h.idx(kVec));
  Value chunks = h.mul(rows, perRow);
  Value blocks = h.blocksFor(chunks, kThreads);
  // Rows of whole chunks take the vector path (16-byte aligned: the
  // caller's buffers are whole allocations, rows of 8k elements).
  Value whole = h.cmpI(P::eq, h.remu(width, h.idx(kVec)), h.idx(0));
  launch(b, blocks, kThreads, [&](Value tid, Value bid) {
    Value id = h.add(h.mul(bid, h.idx(kThreads)), tid);
    h.ifThen(h.cmpI(P::ult, id, chunks), [&] {
      FlatView fs = flatten(b, src), fd = flatten(b, dst);
      Value row = h.divu(id, perRow), col = h.mul(h.remu(id, perRow),
                                                   h.idx(kVec));
      Value i2 = h.remu(row, d2), r2 = h.divu(row, d2);
      Value i1 = h.remu(r2, d1), i0 = h.divu(r2, d1);
      Value from = h.add(fs.linear(b, {i0, i1, i2}), col);
      Value to = h.add(fd.linear(b, {i0, i1, i2}), col);
      auto ifOp = scf::IfOp::create(b, whole, /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        auto f4 = VectorType::get({4}, b.getF32Type());
        SmallVector<Value> halves;
        for (int64_t k = 0; k < 2; ++k) {
          auto ld = vector::LoadOp::create(b, f4, fs.view,
                                           ValueRange{h.add(from, h.idx(4 * k))});
          ld.setAlignment(16);
          halves.push_back(ld);
        }
        Value f8 = vector::ShuffleOp::create(
            b, halves[0], halves[1], ArrayRef<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
        // llvm.fptrunc: one cvt.rn per pair (arith.truncf to bf16 would be
        // expanded into integer rounding code).
        Value e8 = LLVM::FPTruncOp::create(b, VectorType::get({kVec}, elem), f8);
        auto st = vector::StoreOp::create(b, e8, fd.view, ValueRange{to});
        st.setAlignment(16);
        b.setInsertionPointToStart(ifOp.elseBlock());
        for (int64_t k = 0; k < kVec; ++k)
          h.ifThen(h.cmpI(P::ult, h.add(col, h.idx(k)), width), [&] {
            Value x = h.load(fs.view, {h.add(from, h.idx(k))});
            h.store(LLVM::FPTruncOp::create(b, elem, x), fd.view,
                    {h.add(to, h.idx(k))});
          });
      }
    });
  });
}


//===----------------------------------------------------------------------===//
// The deterministic backward's slot numbering and fixed-order sums
// (AttentionKernel.h).
//===----------------------------------------------------------------------===//

Value deterministicChunkBlocks(ImplicitLocOpBuilder &b, Value units) {
  Builder h{b};
  Value target = h.idx(kDeterministicBlocks);
  return h.maxI(h.divu(h.add(units, h.sub(target, h.idx(1))), target),
                h.idx(1));
}

SmallVector<Type> deterministicSlotsStubOperandTypes(MLIRContext *ctx) {
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  Type index = IndexType::get(ctx);
  return {dynStridedMemRef(ctx, 4, i32), dynStridedMemRef(ctx, 3, i32),
          dynStridedMemRef(ctx, 3, f32), dynStridedMemRef(ctx, 3, i32),
          dynStridedMemRef(ctx, 3, i32), dynStridedMemRef(ctx, 4, i32),
          index,                         index};
}

func::FuncOp getOrCreateDeterministicSlotsStub(ModuleOp module, int64_t blockQ,
                                               int64_t window) {
  return getOrCreateStub(
      module,
      llvm::formatv("sparsek_deterministic_slots_bq{0}_w{1}", blockQ, window)
          .str(),
      deterministicSlotsStubOperandTypes(module.getContext()),
      "deterministic_slots", [&](OpBuilder &mb, NamedAttrList &attrs) {
        attrs.append("block_q", mb.getI64IntegerAttr(blockQ));
        attrs.append("window", mb.getI64IntegerAttr(window));
      });
}

std::optional<std::pair<int64_t, int64_t>>
deterministicSlotsStubParams(func::FuncOp f) {
  DictionaryAttr dict = stubAttrsOfKind(f, {"deterministic_slots"});
  auto bq = dict ? dict.getAs<IntegerAttr>("block_q") : IntegerAttr();
  auto w = dict ? dict.getAs<IntegerAttr>("window") : IntegerAttr();
  if (!bq || !w || bq.getInt() < 1 || w.getInt() < 0)
    return std::nullopt;
  return std::make_pair(bq.getInt(), w.getInt());
}

void buildDeterministicSlotsLaunches(ImplicitLocOpBuilder &b, ModuleOp module,
                                     int64_t blockQ, int64_t window,
                                     ArrayRef<Value> operands) {
  Value unionKeys = operands[0], unionCount = operands[1], tau = operands[2],
        first = operands[3], last = operands[4], meta = operands[5],
        chunkBlocks = operands[6], rowEntries = operands[7];
  Builder h{b};
  Value batch = h.dim(first, 0), heads = h.dim(first, 1), m = h.dim(first, 2),
        n = h.dim(tau, 2), nb = h.dim(unionCount, 2),
        width = h.dim(unionKeys, 3);
  Value rows = h.mul(batch, heads);
  // 1. The blocks touching each key: per (row, block) its union entries
  // and its window run [lo(first query), end(last query)) (at most
  // window + blockQ - 1 keys), as the backward kernel walks them.
  Value per = h.add(width, h.idx(window + blockQ));
  Value total = h.mul(h.mul(rows, nb), per);
  launch(b, h.blocksFor(total, kKeyThreads), kKeyThreads, [&](Value tid, Value bid) {
    Value id = h.add(h.mul(bid, h.idx(kKeyThreads)), tid);
    h.ifThen(h.cmpI(P::ult, id, total), [&] {
      Value e = h.remu(id, per), rest = h.divu(id, per);
      Value s = h.remu(rest, nb), r = h.divu(rest, nb);
      Value bi = h.divu(r, heads), g = h.remu(r, heads);
      Value qBase = h.mul(s, h.idx(blockQ));
      Value lastQ = h.sub(h.minI(h.add(qBase, h.idx(blockQ)), n), h.idx(1));
      Value lo = detail::windowOf(b, qBase, m, n, window).first;
      Value end = detail::windowOf(b, lastQ, m, n, window).second;
      Value inUnion = h.cmpI(P::ult, e, width);
      Value count = h.load(unionCount, {bi, g, s});
      Value unionJ = h.toIdx(h.load(unionKeys, {bi, g, s, h.minI(e, h.sub(width, h.idx(1)))}));
      Value winJ = h.add(lo, h.sub(e, width));
      Value j = h.sel(inUnion, unionJ, winJ);
      Value ok = h.sel(inUnion, h.cmpI(P::slt, e, h.toIdx(count)),
                       h.cmpI(P::slt, winJ, end));
      ok = h.andI(ok, h.andI(h.cmpI(P::sge, j, h.idx(0)),
                             h.cmpI(P::slt, j, m)));
      h.ifThen(ok, [&] {
        Value s32 = h.toI32(s);
        memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::mins, s32, first,
                                    ValueRange{bi, g, j});
        memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::maxs, s32, last,
                                    ValueRange{bi, g, j});
      });
    });
  });

  // 2. Per row (one block): run lengths, their exclusive prefix sums (tiles
  // of kScanThreads x kPerThread keys) and meta.
  MLIRContext *ctx = b.getContext();
  auto wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  constexpr int64_t kWarps = kScanThreads / 32;
  Type i32 = b.getI32Type();
  auto countsType =
      MemRefType::get({kWarps}, i32, MemRefLayoutAttrInterface{}, wg);
  const char *countsName = "sparsek_deterministic_slots_counts";
  declareWorkgroupGlobal(module, b.getLoc(), countsName, countsType, 16);
  launch(b, h.maxI(rows, h.idx(1)), kScanThreads, [&](Value tid, Value bid) {
    h.ifThen(h.cmpI(P::ult, bid, rows), [&] {
      Value bi = h.divu(bid, heads), g = h.remu(bid, heads);
      Value counts = memref::GetGlobalOp::create(b, countsType, countsName);
      Value zeroI = constI32(b, 0);
      Value c32 = h.toI32(chunkBlocks);
      Value rowBase = h.toI32(h.mul(bid, rowEntries));
      h.loop(h.idx(0), m, kScanThreads * kPerThread, {zeroI},
             [&](Value base, ValueRange carry) -> SmallVector<Value> {
        Value firstKey = h.add(base, h.mul(tid, h.idx(kPerThread)));
        Value lastKey = h.sub(m, h.idx(1));
        SmallVector<Value> js, ins, fs, cfs, lens, incl;
        Value acc = zeroI;
        for (int64_t e = 0; e < kPerThread; ++e) {
          Value j = h.add(firstKey, h.idx(e));
          Value at = h.minI(j, lastKey);
          Value f = h.load(first, {bi, g, at});
          Value l = h.load(last, {bi, g, at});
          Value cf = arith::DivSIOp::create(b, f, c32);
          Value cl = arith::DivSIOp::create(b, l, c32);
          Value in = h.cmpI(P::ult, j, m);
          Value len = h.sel(h.andI(in, h.cmpI(P::sge, l, zeroI)),
                            arith::AddIOp::create(
                                b, arith::SubIOp::create(b, cl, cf),
                                constI32(b, 1)),
                            zeroI);
          acc = arith::AddIOp::create(b, acc, len);
          js.push_back(j);
          ins.push_back(in);
          fs.push_back(f);
          cfs.push_back(cf);
          lens.push_back(len);
          incl.push_back(acc);
        }
        auto [off, tileTotal] = blockScan(h, acc, counts, tid);
        Value start0 = arith::AddIOp::create(
            b, rowBase, arith::AddIOp::create(b, carry[0], off));
        // One 16-byte store per key (meta is a whole allocation: rows of
        // 4 i32).
        FlatView fm = flatten(b, meta);
        auto v4 = VectorType::get({4}, i32);
        for (int64_t e = 0; e < kPerThread; ++e)
          h.ifThen(ins[e], [&] {
            Value start = arith::SubIOp::create(
                b, arith::AddIOp::create(b, start0, incl[e]), lens[e]);
            Value fields = vector::FromElementsOp::create(
                b, v4, ValueRange{start, cfs[e], lens[e], fs[e]});
            vector::StoreOp::create(b, fields, fm.view,
                                    ValueRange{fm.linear(b, {bi, g, js[e]})})
                .setAlignment(16);
          });
        // Every thread has read the warps' totals before the next tile's
        // scan writes them.
        gpu::BarrierOp::create(b);
        return {arith::AddIOp::create(b, carry[0], tileTotal)};
      });
    });
  });
}

SmallVector<Type> deterministicReduceStubOperandTypes(MLIRContext *ctx,
                                                      Type elem) {
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  return {dynStridedMemRef(ctx, 2, f32),  dynStridedMemRef(ctx, 4, i32),
          dynStridedMemRef(ctx, 3, f32),  dynStridedMemRef(ctx, 4, elem),
          dynStridedMemRef(ctx, 4, elem), dynStridedMemRef(ctx, 3, f32),
          dynStridedMemRef(ctx, 3, f32),  IndexType::get(ctx)};
}

func::FuncOp getOrCreateDeterministicReduceStub(ModuleOp module, Type elem) {
  return getOrCreateStub(
      module,
      std::string("sparsek_deterministic_reduce_") +
          (elem.isBF16() ? "bf16" : "f16"),
      deterministicReduceStubOperandTypes(module.getContext(), elem),
      "deterministic_reduce", [&](OpBuilder &, NamedAttrList &attrs) {
        attrs.append("elem", TypeAttr::get(elem));
      });
}

std::optional<Type> deterministicReduceStubElem(func::FuncOp f) {
  return stubElemOfKind(f, "deterministic_reduce");
}

void buildDeterministicReduceLaunches(ImplicitLocOpBuilder &b, Type elem,
                                      ArrayRef<Value> operands) {
  constexpr int64_t kThreads = 256, kUnroll = 8;
  Value scratch = operands[0], meta = operands[1], dtauHeads = operands[2],
        dkey = operands[3], dvalue = operands[4], du = operands[5],
        dtau = operands[6], headBlocks = operands[7];
  Builder h{b};
  // 1. dtau[b, g, i]: the group's query heads in head order.
  {
    Value batch = h.dim(dtau, 0), heads = h.dim(dtau, 1), n = h.dim(dtau, 2);
    Value group = h.maxI(h.divu(h.dim(dtauHeads, 1), h.maxI(heads, h.idx(1))),
                         h.idx(1));
    Value total = h.mul(h.mul(batch, heads), n);
    launch(b, h.blocksFor(total, kThreads), kThreads, [&](Value tid, Value bid) {
      Value id = h.add(h.mul(bid, h.idx(kThreads)), tid);
      h.ifThen(h.cmpI(P::ult, id, total), [&] {
        Value i = h.remu(id, n), r = h.divu(id, n);
        Value bi = h.divu(r, heads), g = h.remu(r, heads);
        SmallVector<Value> sum = h.loop(
            h.idx(0), group, 1, {constF32(b, 0.0)},
            [&](Value hh, ValueRange acc) -> SmallVector<Value> {
              Value v = h.load(dtauHeads, {bi, h.add(h.mul(g, group), hh), i});
              return {arith::AddFOp::create(b, acc[0], v)};
            });
        h.store(sum[0], dtau, {bi, g, i});
      });
    });
  }
  // 2. Per (row, key, 4 columns of the slot): its run's slots in order,
  // kUnroll loads in flight, then dkey, dvalue (narrowed) or du.
  Value batch = h.dim(du, 0), heads = h.dim(du, 1), m = h.dim(du, 2);
  Value d = h.dim(dkey, 3), dv = h.dim(dvalue, 3);
  Value quads = h.divu(h.dim(scratch, 1), h.idx(4));
  Value total = h.mul(h.mul(h.mul(batch, heads), m), quads);
  launch(b, h.blocksFor(total, kThreads), kThreads, [&](Value tid, Value bid) {
    Value id = h.add(h.mul(bid, h.idx(kThreads)), tid);
    h.ifThen(h.cmpI(P::ult, id, total), [&] {
      Value qd = h.remu(id, quads), rest = h.divu(id, quads);
      Value j = h.remu(rest, m), r = h.divu(rest, m);
      Value bi = h.divu(r, heads), g = h.remu(r, heads);
      Value start = h.toIdx(h.load(meta, {bi, g, j, h.idx(0)}));
      Value len = h.toIdx(h.load(meta, {bi, g, j, h.idx(2)}));
      Value slots = h.mul(len, headBlocks);
      Value first = h.mul(start, headBlocks);
      FlatView fs = flatten(b, scratch);
      Value col = h.mul(qd, h.idx(4));
      auto f4 = VectorType::get({4}, b.getF32Type());
      Value zero4 = arith::ConstantOp::create(
          b, f4, DenseElementsAttr::get(f4, b.getF32FloatAttr(0.0f)));
      SmallVector<Value> sum = h.loop(
          h.idx(0), slots, kUnroll, {zero4},
          [&](Value e0, ValueRange acc) -> SmallVector<Value> {
            SmallVector<Value> vals;
            for (int64_t u = 0; u < kUnroll; ++u) {
              Value e = h.add(e0, h.idx(u));
              Value in = h.cmpI(P::ult, e, slots);
              Value at = h.add(fs.linear(b, {h.add(first, h.minI(e, h.sub(slots, h.idx(1))))}), col);
              auto ld = vector::LoadOp::create(b, f4, fs.view, ValueRange{at});
              ld.setAlignment(16);
              vals.push_back(h.sel(in, ld, zero4));
            }
            Value a = acc[0];
            for (Value v : vals)
              a = arith::AddFOp::create(b, a, v);
            return {a};
          });
      auto narrowTo = [&](Value dst, Value c) {
        FlatView fd = flatten(b, dst);
        Value e4 = LLVM::FPTruncOp::create(b, VectorType::get({4}, elem),
                                           sum[0]);
        vector::StoreOp::create(b, e4, fd.view,
                                ValueRange{h.add(fd.linear(b, {bi, g, j}), c)})
            .setAlignment(8);
      };
      Value inK = h.cmpI(P::ult, col, d);
      Value inV = h.cmpI(P::ult, col, h.add(d, dv));
      auto ifK = scf::IfOp::create(b, inK, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard gk(b);
      b.setInsertionPointToStart(ifK.thenBlock());
      narrowTo(dkey, col);
      b.setInsertionPointToStart(ifK.elseBlock());
      auto ifV = scf::IfOp::create(b, inV, /*withElseRegion=*/true);
      b.setInsertionPointToStart(ifV.thenBlock());
      narrowTo(dvalue, h.sub(col, d));
      b.setInsertionPointToStart(ifV.elseBlock());
      h.ifThen(h.cmpI(P::eq, col, h.add(d, dv)), [&] {
        h.store(vector::ExtractOp::create(b, sum[0], ArrayRef<int64_t>{0}), du,
                {bi, g, j});
      });
    });
  });
}

} // namespace mlir::sparsek::gpu_kernels
