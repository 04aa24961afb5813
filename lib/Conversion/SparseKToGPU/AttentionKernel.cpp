//===- AttentionKernel.cpp - the fused tensor-core attention kernel -------===//
//
// See AttentionKernel.h and docs/design/TensorCoreAttention.md. The kernel,
// per thread block (batch bi, KV head g, query block blk, group of HB query
// heads of g):
//
//   rows: warp w holds 16 rows of the MMA's M dimension: with HB even, 8
//         queries of heads 2p, 2p + 1 (lane (g8 = lane / 4, tq = lane % 4)
//         holds query g8 of both: halves A and B), otherwise 16 queries of
//         one head (halves A, B = queries g8, g8 + 8);
//   keys: the block's window run [runLo, runEnd) in Tw tiles, then the
//         union_count[blk] keys of union_keys[blk] in Tu tiles, BK per tile,
//         gathered by cp.async (K, V rows; zero rows past the end) with the
//         tile's ordered (score, index) keys and scores beside them; two
//         stages, the next tile's key loads issued before this tile's
//         S = Q K^T and its copies after it;
//   per tile: S = Q K^T (Q fragments in registers, K by ldmatrix), the
//         membership test and gate weight per (query, key), online softmax
//         in base 2 (row max by quad shuffles), O = alpha O + (P * w) V with
//         P rounded to the input type in registers (the A operand);
//   end:  O / l (0 when nothing was attended), stored as pairs.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "Emitters.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <functional>
#include <cstring>
#include <limits>

namespace mlir::sparsek::gpu_kernels {

namespace {

constexpr double kLn2 = 0.6931471805599453;
/// How far (base 2) a tile's row maximum may exceed the row's reference
/// maximum before O and l are rescaled to it (P stays below 2^8).
constexpr double kRescaleSlack = 8.0;

/// The values (at least one) combined pairwise, as a balanced tree (depth
/// log2 n instead of a chain of n - 1).
Value treeReduce(ArrayRef<Value> xs, function_ref<Value(Value, Value)> f) {
  if (xs.size() == 1)
    return xs.front();
  size_t h = xs.size() / 2;
  return f(treeReduce(xs.take_front(h), f), treeReduce(xs.drop_front(h), f));
}

} // namespace
static std::array<int64_t, 6> wgmmaLayout(const AttentionKernelConfig &c);
namespace {

/// Per-query state a thread keeps for each distinct query row it holds
/// (two rows of one head, or with head pairs one row of two heads).
struct RowInfo {
  Value valid;  // i1: the query exists (row < N)
  Value index;  // the query index clamped to N - 1 (safe loads)
  Value p32, lo32; // i32: window [c, p]; an invalid row gets p = c - 1
  Value loU;    // i32: union keys need j < loU (c; INT_MIN when invalid)
  Value kth64;  // i64: the k-th best candidate as an ordered (score, index)
                // key; 0 when every candidate is selected
  Value tau;    // f32
};

class KernelBody : ScalarOps {
public:
  KernelBody(ImplicitLocOpBuilder &b, const AttentionKernelConfig &cfg,
             ArrayRef<Value> operands, ArrayRef<Value> shared, Value tid,
             Value bid, Value smemBase)
      : ScalarOps{b}, cfg(cfg), mma(b, cfg.elem), wgmma(b, cfg.elem),
        args(operands), tid(tid), bid(bid), smemBase(smemBase) {
    kTile = shared[0];
    vTile = shared[1];
    keyTileSh = shared[2];
    uTile = shared[3];
    if (cfg.wgmma)
      qSh = shared[4];
    if (cfg.backward) {
      qSh = shared[4];
      doSh = shared[5];
      dsSh = shared[6];
      pSh = shared[7];
      if (cfg.deterministic) {
        duSh = shared[8];
        slotSh = shared[9];
        stagingSh = shared[10];
      }
    }
  }

  void build();

private:
  Value q() { return args[0]; }
  Value key() { return args[1]; }
  Value value() { return args[2]; }
  Value u() { return args[3]; }
  Value kthScore() { return args[4]; }
  Value kthIndex() { return args[5]; }
  Value tauArg() { return args[6]; }
  Value unionKeys() { return args[7]; }
  Value unionCount() { return args[8]; }
  Value out() { return args[9]; }
  // The backward kernel's.
  Value dout() { return args[10]; }
  Value dq() { return args[11]; }
  Value dkeyAcc() { return args[12]; }
  Value dvalueAcc() { return args[13]; }
  Value duAcc() { return args[14]; }
  Value dtauAcc() { return args[15]; }
  // The deterministic backward's (instead of the four accumulators).
  Value scratchArg() { return args[12]; }
  Value metaArg() { return args[13]; }
  Value dtauHeadsArg() { return args[14]; }
  Value chunkBlocksArg() { return args[15]; }
  // The log-sum-exp (cfg.lse): written by the forward, read by the backward.
  Value lseArg() { return args.back(); }

  Value ceilDiv(Value x, int64_t d) {
    return divu(add(x, idx(d - 1)), idx(d));
  }
  Value maxF(Value x, Value y) { return fastMaxF(b, x, y); }
  Value minF(Value x, Value y) { return fastMinF(b, x, y); }

  RowInfo rowInfo(Value row);
  /// An f32 score and an i32 key index as one i64 whose unsigned order is
  /// the lexicographic order of (score, index) (scores by value: -0 = +0).
  Value orderedKey(Value score, Value index32);
  /// Keys of rows `rs` of tile `t`: (j, valid) each; j is a safe row (0)
  /// when not valid.
  SmallVector<std::pair<Value, Value>> keysOf(Value t, ArrayRef<Value> rs);
  /// The (j, valid) keys this thread needs for tile `t`: its K copy rows,
  /// its V copy rows when Dv != D, last the row `tid` it describes (when
  /// tid < keyTile) in the tile's key arrays.
  SmallVector<std::pair<Value, Value>> tileKeys(Value t);
  /// tileKeys(t) under `cond` (none otherwise: j = 0, invalid).
  SmallVector<std::pair<Value, Value>> prefetchKeys(Value t, Value cond);
  /// The tile's K and V rows into `stage` by cp.async (zero fill when
  /// invalid). Given the tile's index `t`, a window tile's rows come from
  /// the run's addresses instead of `keys` (which then serve union tiles
  /// only).
  void issueCopies(ArrayRef<std::pair<Value, Value>> keys, Value stage,
                   Value t = Value());
  /// The score of the row this thread describes (0 unless `cond`).
  Value loadWriterScore(std::pair<Value, Value> key, Value cond);
  /// Its ordered key and clamped score into the tile's arrays of `stage`.
  void storeKeyInfo(std::pair<Value, Value> key, Value uj, Value cond,
                    Value stage);
  /// One row (half `upper` of the accumulators, `width` columns) times
  /// `inv` (none: as is) into `to` at [bi, head, rowIdx].
  void storeRow(Value valid, Value head, Value rowIdx, ArrayRef<Value> acc,
                bool upper, Value inv, const FlatView &to, int64_t width);
  /// Two f32 values rounded to the input type (one cvt) and stored as a
  /// pair (4 bytes) at mem[idx].
  void storePair(Value lo, Value hi, Value mem, ValueRange idx);
  /// Two adjacent elements of a flat view as f32.
  std::pair<Value, Value> loadF32Pair(Value view, Value index);
  /// memref.atomic_rmw addf of `v` into `mem[idx]`.
  void atomicAdd(Value v, Value mem, ValueRange idx);
  /// `vals` (4 f32) added to the consecutive elements of f32 `mem` from
  /// [indices] by one vector reduction (red.global.add.v4.f32, sm_90; the
  /// address must be 16-byte aligned: the caller's f32 buffers are
  /// allocated whole, with rows and columns in multiples of 4).
  void reduceAdd(ArrayRef<Value> vals, Value mem, ValueRange indices);

  const AttentionKernelConfig &cfg;
  MmaEmitter mma;
  WgmmaEmitter wgmma;
  SmallVector<Value> args;
  Value kTile, vTile, keyTileSh, uTile;
  Value qSh, doSh, dsSh, pSh; // the backward kernel's (qSh: the wgmma one's too)
  // The deterministic backward's: du column sums per warp, each tile's
  // slot infos (per stage) and its slots' previous contents.
  Value duSh, slotSh, stagingSh;
  // Set up by build().
  Value tid, bid, lane, bi, g, blk, n, m, runLo, runEnd, count, unionW, tw;
  // The window run's length (runEnd - runLo, at least 0).
  Value wlen;
  // The wgmma kernel's: the tiles' shared address (i64; wgmmaLayout's
  // offsets from it).
  Value smemBase;
  // The deterministic backward's chunk, its first block and head block.
  Value chunk, chunkFirst, hb, hbCount;
  FlatView fq, fk, fv, fo;
  Value kBase, vBase;
};

Value KernelBody::orderedKey(Value score, Value index32) {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  // +0.0 turns -0.0 into +0.0 (they compare equal); then the usual flip:
  // negative floats get every bit inverted, the others the sign bit set.
  Value canon = arith::AddFOp::create(b, score, constF32(b, 0.0));
  Value bits = arith::BitcastOp::create(b, i32, canon);
  Value mask = arith::OrIOp::create(
      b, arith::ShRSIOp::create(b, bits, constI32(b, 31)),
      constI32(b, std::numeric_limits<int32_t>::min()));
  Value ord = arith::XOrIOp::create(b, bits, mask);
  Value hi = arith::ShLIOp::create(
      b, arith::ExtUIOp::create(b, i64, ord),
      arith::ConstantIntOp::create(b, i64, 32));
  return arith::OrIOp::create(b, hi, arith::ExtUIOp::create(b, i64, index32));
}

RowInfo KernelBody::rowInfo(Value row) {
  RowInfo r;
  r.valid = cmpI(arith::CmpIPredicate::ult, row, n);
  r.index = minI(row, sub(n, idx(1)));
  auto [lo, end] = detail::windowOf(b, r.index, m, n, cfg.window);
  r.lo32 = toI32(lo);
  r.p32 = sel(r.valid, toI32(sub(end, idx(1))),
              arith::SubIOp::create(b, r.lo32, constI32(b, 1)));
  r.loU = sel(r.valid, r.lo32,
              constI32(b, std::numeric_limits<int32_t>::min()));
  Value kthS = load(kthScore(), {bi, g, r.index});
  Value kthI = load(kthIndex(), {bi, g, r.index});
  Value all = cmpI(arith::CmpIPredicate::slt, kthI, constI32(b, 0));
  r.kth64 = sel(all, arith::ConstantIntOp::create(b, b.getI64Type(), 0),
                orderedKey(kthS, kthI));
  r.tau = load(tauArg(), {bi, g, r.index});
  return r;
}

SmallVector<std::pair<Value, Value>> KernelBody::keysOf(Value t,
                                                         ArrayRef<Value> rs) {
  // One branch per tile (window or union: uniform across the block), its
  // arithmetic in i32: key indices, slots and bounds are below 2^31 (the
  // selection's indices are i32), and tile starts are as the window
  // loop's interior test computes them.
  Type i32 = b.getI32Type(), i1 = b.getI1Type();
  Value isWin = cmpI(arith::CmpIPredicate::ult, t, tw);
  SmallVector<Type> types;
  for (size_t i = 0; i < rs.size(); ++i)
    types.append({i32, i1});
  auto ifOp = scf::IfOp::create(b, types, isWin, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    SmallVector<Value> yield;
    Value start = toI32(add(runLo, mul(t, idx(cfg.keyTile))));
    Value end = toI32(runEnd);
    for (Value r : rs) {
      Value j = arith::AddIOp::create(b, start, toI32(r));
      yield.append({j, cmpI(arith::CmpIPredicate::slt, j, end)});
    }
    scf::YieldOp::create(b, yield);
    b.setInsertionPointToStart(ifOp.elseBlock());
    yield.clear();
    Value slot0 = toI32(mul(sub(t, tw), idx(cfg.keyTile)));
    Value count32 = toI32(count), m32 = toI32(m);
    Value last = toI32(maxI(sub(unionW, idx(1)), idx(0)));
    for (Value r : rs) {
      Value slot = arith::AddIOp::create(b, slot0, toI32(r));
      Value inRange = cmpI(arith::CmpIPredicate::slt, slot, count32);
      Value safeSlot = toIdx(arith::MinSIOp::create(b, slot, last));
      Value jr = load(unionKeys(), {bi, g, blk, safeSlot});
      Value ok = andI(inRange,
                      andI(cmpI(arith::CmpIPredicate::sge, jr, constI32(b, 0)),
                           cmpI(arith::CmpIPredicate::slt, jr, m32)));
      yield.append({jr, ok});
    }
    scf::YieldOp::create(b, yield);
  }
  SmallVector<std::pair<Value, Value>> keys;
  for (size_t i = 0; i < rs.size(); ++i) {
    Value valid = ifOp.getResult(2 * i + 1);
    Value j = arith::SelectOp::create(b, valid, ifOp.getResult(2 * i),
                                      constI32(b, 0));
    keys.push_back(
        {arith::IndexCastUIOp::create(b, b.getIndexType(), j), valid});
  }
  return keys;
}

/// The copy rows of a thread: copy e of a thread moves chunk `tid % chunks`
/// of row `tid / chunks + e * (threads / chunks)`.
struct CopyRows {
  int64_t chunks, perThread, step;
};
static CopyRows copyRowsOf(const AttentionKernelConfig &cfg, int64_t width) {
  int64_t chunks = width / 8;
  return {chunks, cfg.keyTile * chunks / cfg.threads(),
          cfg.threads() / chunks};
}

/// Where a thread's keys sit in tileKeys' list: K's copy rows from 0, V's
/// from `v` (0 when Dv = D: the same rows, the same keys), the row the
/// thread describes at `writer`, the last.
struct KeySlots {
  size_t v, writer;
};
static KeySlots keySlotsOf(const AttentionKernelConfig &cfg) {
  size_t kRows = copyRowsOf(cfg, cfg.d).perThread;
  if (cfg.dv == cfg.d)
    return {0, kRows};
  return {kRows, kRows + copyRowsOf(cfg, cfg.dv).perThread};
}

SmallVector<std::pair<Value, Value>> KernelBody::tileKeys(Value t) {
  // In the order of keySlotsOf.
  SmallVector<Value> rs;
  auto rowsOf = [&](int64_t width) {
    CopyRows c = copyRowsOf(cfg, width);
    Value r0 = divu(tid, idx(c.chunks));
    for (int64_t e = 0; e < c.perThread; ++e)
      rs.push_back(add(r0, idx(e * c.step)));
  };
  rowsOf(cfg.d);
  if (cfg.dv != cfg.d)
    rowsOf(cfg.dv);
  rs.push_back(tid);
  SmallVector<std::pair<Value, Value>> keys = keysOf(t, rs);
  assert(keys.size() == keySlotsOf(cfg).writer + 1 && "keySlotsOf's layout");
  return keys;
}

SmallVector<std::pair<Value, Value>> KernelBody::prefetchKeys(Value t,
                                                              Value cond) {
  // One scf.if yielding every (j, valid): its loads are issued here and
  // waited for where the keys are first used, after this tile's MMAs.
  size_t count = keySlotsOf(cfg).writer + 1;
  SmallVector<Type> types;
  for (size_t i = 0; i < count; ++i)
    types.append({b.getIndexType(), b.getI1Type()});
  auto ifOp = scf::IfOp::create(b, types, cond, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    SmallVector<Value> flat;
    for (auto [j, valid] : tileKeys(t))
      flat.append({j, valid});
    scf::YieldOp::create(b, flat);
    b.setInsertionPointToStart(ifOp.elseBlock());
    SmallVector<Value> none;
    for (size_t i = 0; i < count; ++i)
      none.append({idx(0), arith::ConstantIntOp::create(b, b.getI1Type(), 0)});
    scf::YieldOp::create(b, none);
  }
  SmallVector<std::pair<Value, Value>> keys;
  for (size_t i = 0; i < count; ++i)
    keys.push_back({ifOp.getResult(2 * i), ifOp.getResult(2 * i + 1)});
  return keys;
}

void KernelBody::issueCopies(ArrayRef<std::pair<Value, Value>> keys,
                             Value stage, Value t) {
  // Copy e of a thread: its source element (from) and validity, given
  // the thread's row r0 and chunk ch of the tile.
  using SourceOf = function_ref<std::pair<Value, Value>(
      const FlatView &src, Value base, const CopyRows &c, Value r0, Value ch,
      int64_t e, size_t firstKey)>;
  auto copyRows = [&](Value tile, const FlatView &src, Value base,
                      int64_t width, size_t firstKey, SourceOf sourceOf) {
    CopyRows c = copyRowsOf(cfg, width);
    Value r0 = divu(tid, idx(c.chunks)), ch = remu(tid, idx(c.chunks));
    for (int64_t e = 0; e < c.perThread; ++e) {
      Value r = add(r0, idx(e * c.step));
      auto [from, valid] = sourceOf(src, base, c, r0, ch, e, firstKey);
      if (cfg.wgmma) {
        // Plane ch / 8, chunk ch % 8 of its 128-byte row, swizzled.
        asyncCopy16(b, tile,
                    {stage, divu(ch, idx(8)), r,
                     swizzledCol(b, r, remu(ch, idx(8)), 8)},
                    src.view, from, valid);
        continue;
      }
      asyncCopy16(b, tile, {stage, r, swizzledCol(b, r, ch, c.chunks)},
                  src.view, from, valid);
    }
  };
  auto both = [&](SourceOf sourceOf) {
    copyRows(kTile, fk, kBase, cfg.d, 0, sourceOf);
    copyRows(vTile, fv, vBase, cfg.dv, keySlotsOf(cfg).v, sourceOf);
  };
  // From the keys: row j's chunk.
  auto keyed = [&](const FlatView &src, Value base, const CopyRows &,
                   Value, Value ch, int64_t e, size_t firstKey) {
    auto [j, valid] = keys[firstKey + e];
    return std::make_pair(
        add(add(base, mul(j, src.strides[2])), mul(ch, idx(8))), valid);
  };
  if (!t)
    return both(keyed);
  // A window tile's rows are runLo + t keyTile + r: the thread's first row's
  // element plus multiples of the row stride (no key index, no multiply
  // per copy), valid while inside the run (an i32 compare); past it, a
  // safe row (the head's first) with nothing read.
  Value rel = mul(t, idx(cfg.keyTile));
  auto window = [&](const FlatView &src, Value base, const CopyRows &c,
                    Value r0, Value ch, int64_t e, size_t) {
    Value stride = src.strides[2];
    Value first = add(add(base, mul(add(add(runLo, rel), r0), stride)),
                      mul(ch, idx(8)));
    Value valid = cmpI(arith::CmpIPredicate::slt,
                       toI32(add(add(rel, r0), idx(e * c.step))),
                       toI32(wlen));
    Value from = add(first, mul(idx(e * c.step), stride));
    return std::make_pair(sel(valid, from, base), valid);
  };
  auto ifOp = scf::IfOp::create(b, cmpI(arith::CmpIPredicate::ult, t, tw),
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  both(window);
  b.setInsertionPointToStart(ifOp.elseBlock());
  both(keyed);
}

Value KernelBody::loadWriterScore(std::pair<Value, Value> key, Value cond) {
  // j is a safe row (0) when absent.
  auto ifOp = scf::IfOp::create(b, TypeRange{b.getF32Type()}, cond,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, load(u(), {bi, g, key.first}));
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, constF32(b, 0.0));
  return ifOp.getResult(0);
}

void KernelBody::storeKeyInfo(std::pair<Value, Value> key, Value uj,
                              Value cond, Value stage) {
  // Per key of the tile, for the union tiles' membership test: its ordered
  // (score, index) key (an absent key: index INT_MAX, which fails j < c)
  // and its score for the weights, clamped to -FLT_MAX (so that u - tau is
  // +inf, weight 1, while tau = -inf, and 0 otherwise for u = -inf).
  auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  auto [j, valid] = key;
  Value key64 = sel(valid, orderedKey(uj, toI32(j)),
                    arith::ConstantIntOp::create(
                        b, b.getI64Type(), std::numeric_limits<int32_t>::max()));
  Value uw = sel(valid,
                 maxF(uj, constF32(b, -std::numeric_limits<float>::max())),
                 constF32(b, 0.0));
  memref::StoreOp::create(b, key64, keyTileSh, ValueRange{stage, tid});
  memref::StoreOp::create(b, uw, uTile, ValueRange{stage, tid});
}

void KernelBody::storeRow(Value valid, Value head, Value rowIdx,
                          ArrayRef<Value> acc, bool upper, Value inv,
                          const FlatView &to, int64_t width) {
  auto ifOp = scf::IfOp::create(b, valid, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  Value base = to.linear(b, {bi, head, rowIdx});
  Value tq = remu(lane, idx(4));
  for (int64_t nt = 0; nt < width / 8; ++nt) {
    Value lo = acc[nt * 4 + (upper ? 2 : 0)];
    Value hi = acc[nt * 4 + (upper ? 3 : 1)];
    if (inv) {
      lo = arith::MulFOp::create(b, lo, inv);
      hi = arith::MulFOp::create(b, hi, inv);
    }
    Value col = add(idx(nt * 8), mul(tq, idx(2)));
    storePair(lo, hi, to.view, {add(base, col)});
  }
}

void KernelBody::storePair(Value lo, Value hi, Value mem, ValueRange idx) {
  Value f = vector::FromElementsOp::create(
      b, VectorType::get({2}, b.getF32Type()), ValueRange{lo, hi});
  Value v = LLVM::FPTruncOp::create(b, VectorType::get({2}, cfg.elem), f);
  vector::StoreOp::create(b, v, mem, idx).setAlignment(4);
}

std::pair<Value, Value> KernelBody::loadF32Pair(Value view, Value index) {
  auto ld = vector::LoadOp::create(b, VectorType::get({2}, cfg.elem), view,
                                   ValueRange{index});
  ld.setAlignment(4);
  Value f = arith::ExtFOp::create(b, VectorType::get({2}, b.getF32Type()),
                                  ld.getResult());
  return {vector::ExtractOp::create(b, f, ArrayRef<int64_t>{0}),
          vector::ExtractOp::create(b, f, ArrayRef<int64_t>{1})};
}

void KernelBody::atomicAdd(Value v, Value mem, ValueRange idx) {
  memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addf, v, mem, idx);
}

void KernelBody::reduceAdd(ArrayRef<Value> vals, Value mem,
                           ValueRange indices) {
  auto md = memref::ExtractStridedMetadataOp::create(b, mem);
  Value at = md.getOffset();
  for (auto [i, s] : llvm::zip(indices, md.getStrides()))
    at = add(at, mul(i, s));
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, mem);
  Value addr = arith::IndexCastOp::create(b, b.getI64Type(),
                                          add(base, mul(at, idx(4))));
  Value ptr = LLVM::IntToPtrOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext(), /*addressSpace=*/1), addr);
  std::string code = llvm::formatv("red.global.add.v{0}.f32 [$0], {{", vals.size());
  for (size_t i = 0; i < vals.size(); ++i)
    code += llvm::formatv("{0}${1}", i ? ", " : "", i + 1).str();
  code += "};";
  SmallVector<Value> operands = {ptr};
  operands.append(vals.begin(), vals.end());
  NVVM::InlinePtxOp::create(b, TypeRange{}, operands, ValueRange{}, code,
                            /*predicate=*/Value());
}

void KernelBody::build() {
  const int64_t BQ = cfg.blockQ, BK = cfg.keyTile, D = cfg.d, DV = cfg.dv;
  const int64_t HB = cfg.heads;
  const bool pairs = cfg.headPairs();
  Value negInf = constF32(b, -std::numeric_limits<double>::infinity());

  lane = remu(tid, idx(32));
  Value warp = divu(tid, idx(32));
  Value g8 = divu(lane, idx(4)), tq = remu(lane, idx(4));

  Value batch = memref::DimOp::create(b, q(), 0);
  Value hq = memref::DimOp::create(b, q(), 1);
  n = memref::DimOp::create(b, q(), 2);
  Value hkv = maxI(memref::DimOp::create(b, key(), 1), idx(1));
  m = memref::DimOp::create(b, key(), 2);
  unionW = memref::DimOp::create(b, unionKeys(), 3);
  Value group = maxI(divu(hq, hkv), idx(1)); // query heads per KV head
  hbCount = maxI(divu(group, idx(HB)), idx(1));
  Value nb = ceilDiv(n, BQ);
  // Query blocks, or (deterministic backward) chunks of chunk_blocks
  // consecutive ones, per (batch, KV head, head block).
  Value chunkBlocks = cfg.deterministic ? chunkBlocksArg() : idx(1);
  Value units = cfg.deterministic
                    ? divu(add(nb, sub(chunkBlocks, idx(1))), chunkBlocks)
                    : nb;
  Value total = mul(mul(mul(hbCount, units), hkv), batch);

  // (A head count that does not divide the group is the caller's error:
  // the kernel then does nothing rather than read out of bounds.)
  Value whole = cmpI(arith::CmpIPredicate::eq, remu(group, idx(HB)), idx(0));
  auto inGrid = scf::IfOp::create(
      b, andI(whole, cmpI(arith::CmpIPredicate::ult, bid, total)),
      /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(inGrid.thenBlock());

  // Blocks are numbered head block fastest, then query block, KV head and
  // batch: the blocks sharing a KV head's query block run side by side and
  // share its gathered rows in L2.
  hb = remu(bid, hbCount);
  Value rest = divu(bid, hbCount);
  blk = remu(rest, units);
  rest = divu(rest, units);
  g = remu(rest, hkv);
  bi = divu(rest, hkv);
  Value headBase = add(mul(g, group), mul(hb, idx(HB)));
  if (cfg.deterministic) {
    // The chunk's blocks in order, everything below once per block; the
    // barrier keeps a block's shared tiles until every warp is done with
    // the previous block's (and orders their scratch writes).
    chunk = blk;
    chunkFirst = mul(chunk, chunkBlocks);
    auto loop = scf::ForOp::create(
        b, chunkFirst, minI(add(chunkFirst, chunkBlocks), nb), idx(1));
    b.setInsertionPoint(loop.getBody()->getTerminator());
    blk = loop.getInductionVar();
    gpu::BarrierOp::create(b);
  }

  // Rows of the warp's m16 tile: with head pairs, rows g8 and g8 + 8 are
  // one query of two heads (its membership and weights serve both);
  // otherwise two queries of one head.
  Value qBase = mul(blk, idx(BQ));
  Value headA, headB, rowA, rowB;
  if (pairs) {
    Value pairsPerRow = idx(HB / 2);
    headA = add(headBase, mul(remu(warp, pairsPerRow), idx(2)));
    headB = add(headA, idx(1));
    rowA = rowB = add(add(qBase, mul(divu(warp, pairsPerRow), idx(8))), g8);
  } else {
    headA = headB = add(headBase, remu(warp, idx(HB)));
    rowA = add(add(qBase, mul(divu(warp, idx(HB)), idx(16))), g8);
    rowB = add(rowA, idx(8));
  }
  SmallVector<RowInfo, 2> rows = {rowInfo(rowA)};
  if (!pairs)
    rows.push_back(rowInfo(rowB));
  auto rowOf = [&](int64_t half) -> int64_t { return pairs ? 0 : half; };

  // The block's window run and union.
  Value last = sub(minI(add(qBase, idx(BQ)), n), idx(1));
  auto [firstLo, firstEnd] = detail::windowOf(b, qBase, m, n, cfg.window);
  auto [lastLo, lastEnd] = detail::windowOf(b, last, m, n, cfg.window);
  runLo = firstLo;
  runEnd = lastEnd;
  // Window keys every query of the block attends to: [lastLo, firstEnd)
  // (windows move forward with the query). A window tile inside it needs
  // no membership test (interior tiles).
  Value sharedLo = lastLo, sharedEnd = firstEnd;
  wlen = maxI(sub(runEnd, runLo), idx(0));
  count = maxI(toIdx(load(unionCount(), {bi, g, blk})), idx(0));
  tw = ceilDiv(wlen, BK);
  Value tiles = add(tw, ceilDiv(count, BK));

  fq = flatten(b, q());
  fk = flatten(b, key());
  fv = flatten(b, value());
  fo = flatten(b, out());
  kBase = fk.linear(b, {bi, g});
  vBase = fv.linear(b, {bi, g});

  // A operands of the warp's 16 rows of a [B, H, N, width] tensor, kept in
  // registers: Q's for S = Q K^T (and dO's for the backward's dP = dO V^T).
  auto rowFragments = [&](const FlatView &from, int64_t width) {
    SmallVector<MmaEmitter::AFrag> frags;
    Value ra = from.linear(b, {bi, headA, rows[0].index});
    Value rb = from.linear(b, {bi, headB, rows[rowOf(1)].index});
    for (int64_t kc = 0; kc < width / 16; ++kc) {
      Value colA = add(idx(kc * 16), mul(tq, idx(2)));
      Value colB = add(colA, idx(8));
      frags.push_back({mma.loadPair(from.view, add(ra, colA)),
                       mma.loadPair(from.view, add(rb, colA)),
                       mma.loadPair(from.view, add(ra, colB)),
                       mma.loadPair(from.view, add(rb, colB))});
    }
    return frags;
  };
  SmallVector<MmaEmitter::AFrag> qFrag;
  if (!cfg.wgmma)
    qFrag = rowFragments(fq, D);
  // The wgmma kernel's shared addresses: warpgroup wgi's Q rows (64 from
  // row 64 wgi of each plane), and the K and V stages.
  const std::array<int64_t, 6> wgOff =
      cfg.wgmma ? wgmmaLayout(cfg) : std::array<int64_t, 6>{};
  // The warpgroup's index broadcast from lane 0, which ptxas knows to be
  // the same in every lane: derived from tid, Q's descriptors sat in
  // ordinary registers and each wgmma moved them into uniform ones (16
  // R2UR per S = Q K^T, NOTES run 214). Broadcast, the kernel issued 2%
  // fewer instructions (run 215), though its static R2UR count rose.
  Value wgi = toIdx(shuffleIdx(b, toI32(divu(warp, idx(4))), 0));
  auto i64c = [&](int64_t v) {
    return arith::ConstantIntOp::create(b, b.getI64Type(), v).getResult();
  };
  auto toI64 = [&](Value x) {
    return arith::IndexCastOp::create(b, b.getI64Type(), x).getResult();
  };
  // The descriptor of the tile at layout offset wgOff[offIndex] plus
  // `index` times `stride` bytes.
  auto descAt = [&](int64_t offIndex, Value index, int64_t stride) {
    return wgmma.descriptor(arith::AddIOp::create(
        b, smemBase,
        arith::AddIOp::create(b, i64c(wgOff[offIndex]),
                              arith::MulIOp::create(b, toI64(index),
                                                    i64c(stride)))));
  };
  Value qDesc;
  if (cfg.wgmma) {
    // Each warp's 16 rows into Q's planes, in the order of its fragment
    // rows (so that wgmma's accumulators are mma.sync's): with head pairs
    // rows 0..7 are queries of head A, 8..15 the same queries of head B.
    const int64_t chunks = D / 8;
    Value headW, queryW;
    if (pairs) {
      Value pairsPerRow = idx(HB / 2);
      headW = add(headBase, mul(remu(warp, pairsPerRow), idx(2)));
      queryW = add(qBase, mul(divu(warp, pairsPerRow), idx(8)));
    } else {
      headW = add(headBase, remu(warp, idx(HB)));
      queryW = add(qBase, mul(divu(warp, idx(HB)), idx(16)));
    }
    Value yes = arith::ConstantIntOp::create(b, b.getI1Type(), 1);
    for (int64_t e = 0; e < 16 * chunks / 32; ++e) {
      Value i = add(idx(e * 32), lane);
      Value fr = divu(i, idx(chunks)), ch = remu(i, idx(chunks));
      Value head = headW, query;
      if (pairs) {
        head = add(headW, divu(fr, idx(8)));
        query = add(queryW, remu(fr, idx(8)));
      } else {
        query = add(queryW, fr);
      }
      query = minI(query, sub(n, idx(1)));
      Value from = add(fq.linear(b, {bi, head, query}), mul(ch, idx(8)));
      Value row = add(mul(warp, idx(16)), fr);
      asyncCopy16(b, qSh,
                  {divu(ch, idx(8)), row, swizzledCol(b, fr, remu(ch, idx(8)), 8)},
                  fq.view, from, yes);
    }
    qDesc = descAt(4, wgi, 64 * 128);
  }
  // A stage's K or V descriptor.
  auto stageDesc = [&](int64_t offIndex, int64_t width, Value stage) {
    return descAt(offIndex, stage, BK * width * 2);
  };
  // S = Q K^T of a stage by the warpgroup: D / 16 wgmma steps, each k16
  // step 32 bytes into a 128-byte row (the hardware applies the swizzle
  // to the address), planes of 64 columns apart.
  auto wgmmaS = [&](Value stage) {
    Value kDesc = stageDesc(0, D, stage);
    wgmma.fence();
    Value acc = wgmma.undefAcc(BK);
    for (int64_t kc = 0; kc < D / 16; ++kc) {
      int64_t inRow = (kc % 4) * 32;
      acc = wgmma.mma(acc,
                      wgmma.advance(qDesc, (kc / 4) * cfg.warps() * 16 * 128 +
                                               inRow),
                      wgmma.advance(kDesc, (kc / 4) * BK * 128 + inRow), BK,
                      /*zero=*/kc == 0, /*bMajorK=*/true);
    }
    wgmma.commit();
    wgmma.wait(0);
    return wgmma.unpack(acc, BK);
  };

  // Prologue: tile 0 in flight, its key arrays written.
  Value isWriter = cmpI(arith::CmpIPredicate::ult, tid, idx(BK));
  // The deterministic backward's (set up below): the writer's slot info
  // of a tile's key (`isWin`: a window tile), and the copies of a tile's
  // slots into shared memory.
  std::function<void(std::pair<Value, Value>, Value, Value, Value)>
      storeSlotInfo;
  std::function<void(Value)> issueSlotCopies;
  auto prologue = [&] {
    auto any = scf::IfOp::create(
        b, cmpI(arith::CmpIPredicate::ugt, tiles, idx(0)), false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(any.thenBlock());
      SmallVector<std::pair<Value, Value>> keys = tileKeys(idx(0));
      issueCopies(keys, idx(0));
      Value uj = loadWriterScore(keys.back(), isWriter);
      storeKeyInfo(keys.back(), uj, isWriter, idx(0));
      if (storeSlotInfo)
        storeSlotInfo(keys.back(), isWriter, idx(0),
                      cmpI(arith::CmpIPredicate::ugt, tw, idx(0)));
    }
    asyncCommit(b);
  };
  // (The backward kernel given the log-sum-exp has no first sweep: its
  // tile 0 comes after the Q and dO rows, below.)
  if (!(cfg.backward && cfg.lse))
    prologue();
  // The backward kernel's dO fragments (A operands of dP = dO V^T).
  SmallVector<MmaEmitter::AFrag> doFrag;

  // Loop state: row max (base 2) and partial sums of halves A and B, then
  // the O accumulators (DV / 8 n-tiles x 4).
  SmallVector<Value> init = {negInf, negInf, constF32(b, 0.0), constF32(b, 0.0)};
  for (int64_t i = 0; i < DV / 8 * 4; ++i)
    init.push_back(constF32(b, 0.0));

  Value kRow0 = add(remu(lane, idx(8)), mul(divu(lane, idx(16)), idx(8)));
  Value kChunk0 = remu(divu(lane, idx(8)), idx(2));
  Value vRow0 = remu(lane, idx(16));
  Value vChunk0 = divu(lane, idx(16));
  const double scaleLog2 = cfg.scale * kLog2e;
  Value lane2 = toI32(mul(tq, idx(2))); // a lane's first column in an n8 tile
  // The swizzled ldmatrix columns: a lane's rows are np * 16 + kRow0 (K)
  // and kc * 16 + vRow0 (V), so row % 8 is fixed per lane, and chunk
  // 2 * c + half ^ (row % 8) = 8 * (c / 4) + ((2 * (c % 4) + half) ^ (row %
  // 8)): four columns per lane and operand, computed once.
  Value kSwz[4], vSwz[4];
  {
    Value kx = remu(kRow0, idx(8)), vx = remu(vRow0, idx(8));
    for (int64_t c = 0; c < 4; ++c) {
      kSwz[c] = mul(arith::XOrIOp::create(b, add(idx(2 * c), kChunk0), kx),
                    idx(8));
      vSwz[c] = mul(arith::XOrIOp::create(b, add(idx(2 * c), vChunk0), vx),
                    idx(8));
    }
  }

  // Membership, gate, logit factors (base 2) and value weights (null: 1)
  // of every element of a tile's accumulators: computed per distinct
  // query row and column, then spread to the halves. `w` is the gate
  // weight (union tiles with a gate; null otherwise).
  struct TileWeights {
    SmallVector<MmaEmitter::Acc> valid, factor, addend, vw, w;
  };
  auto tileWeights = [&](Value t, Value stage, bool windowTiles,
                         bool interior = false) {
    Value one = constF32(b, 1.0);
    bool weighted = !windowTiles && cfg.gate != Gate::none;
    TileWeights tws;
    for (auto *v : {&tws.valid, &tws.factor, &tws.addend, &tws.vw, &tws.w})
      v->resize(BK / 8);
    // Window tiles hold keys tileStart + col: row r keeps columns
    // [c_r - tileStart, p_r - tileStart] (p_r < runEnd, so never a padding
    // column), no shared-memory lookups needed.
    SmallVector<Value, 2> loRel, pRel;
    if (windowTiles) {
      Value tileStart = toI32(add(runLo, mul(t, idx(cfg.keyTile))));
      for (const RowInfo &r : rows) {
        loRel.push_back(arith::SubIOp::create(b, r.lo32, tileStart));
        pRel.push_back(arith::SubIOp::create(b, r.p32, tileStart));
      }
    }
    for (int64_t nt = 0; nt < BK / 8; ++nt)
      for (int64_t par = 0; par < 2; ++par) {
        Value col = add(idx(nt * 8 + par), mul(tq, idx(2)));
        Value key64, j32, uw, col32;
        if (windowTiles) {
          col32 = arith::AddIOp::create(b, lane2, constI32(b, nt * 8 + par));
        } else {
          key64 = load(keyTileSh, {stage, col});
          j32 = arith::TruncIOp::create(b, b.getI32Type(), key64);
          uw = load(uTile, {stage, col});
        }
        // Per distinct row: membership (i1), logit factor (f32: the scale
        // times the kv weight) or addend (logit gate), value weight.
        SmallVector<Value, 2> valid, factor, addend, wv, ws;
        for (auto [ri, r] : llvm::enumerate(rows)) {
          if (interior) {
            valid.push_back(arith::ConstantIntOp::create(b, b.getI1Type(), 1));
          } else if (windowTiles) {
            valid.push_back(
                andI(cmpI(arith::CmpIPredicate::sge, col32, loRel[ri]),
                     cmpI(arith::CmpIPredicate::sle, col32, pRel[ri])));
          } else {
            valid.push_back(
                andI(cmpI(arith::CmpIPredicate::uge, key64, r.kth64),
                     cmpI(arith::CmpIPredicate::slt, j32, r.loU)));
          }
          Value w;
          if (weighted)
            w = minF(maxF(arith::SubFOp::create(b, uw, r.tau),
                          constF32(b, 0.0)),
                     one);
          Value f = constF32(b, scaleLog2), a;
          if (w && cfg.gate == Gate::kv)
            f = arith::MulFOp::create(b, w, f);
          else if (w && cfg.gate == Gate::logit)
            a = math::Log2Op::create(b, w);
          factor.push_back(f);
          addend.push_back(a);
          wv.push_back((w && (cfg.gate == Gate::kv || cfg.gate == Gate::v))
                           ? w
                           : Value());
          ws.push_back(w);
        }
        for (int64_t half = 0; half < 2; ++half) {
          int64_t ri = rowOf(half), e = half * 2 + par;
          tws.valid[nt][e] = valid[ri];
          tws.factor[nt][e] = factor[ri];
          tws.addend[nt][e] = addend[ri];
          tws.vw[nt][e] = wv[ri];
          tws.w[nt][e] = ws[ri];
        }
      }
    return tws;
  };
  // Logits (base 2; -inf outside the row's keys) of the S accumulators.
  auto logitsOf = [&](const TileWeights &tws,
                      ArrayRef<MmaEmitter::Acc> s) {
    SmallVector<MmaEmitter::Acc> logit(BK / 8);
    for (int64_t nt = 0; nt < BK / 8; ++nt)
      for (int64_t e = 0; e < 4; ++e) {
        Value l = arith::MulFOp::create(b, s[nt][e], tws.factor[nt][e]);
        if (tws.addend[nt][e])
          l = arith::AddFOp::create(b, l, tws.addend[nt][e]);
        logit[nt][e] = sel(tws.valid[nt][e], l, negInf);
      }
    return logit;
  };

  // A B^T over a tile, A's fragments in registers, B the stage's
  // [keys][width] rows: S = Q K^T, and for the backward dP = dO V^T.
  auto rowsTimesTile = [&](ArrayRef<MmaEmitter::AFrag> a, Value tile,
                           int64_t width, Value stage) {
    SmallVector<MmaEmitter::Acc> acc(BK / 8, mma.zeroAcc());
    for (int64_t kc = 0; kc < width / 16; ++kc)
      for (int64_t np = 0; np < BK / 16; ++np) {
        Value row = add(idx(np * 16), kRow0);
        auto r = mma.ldmatrixX4(
            tile, {stage, row, add(kSwz[kc % 4], idx(64 * (kc / 4)))},
            false);
        acc[2 * np] = mma.mma(a[kc], {r[0], r[1]}, acc[2 * np]);
        acc[2 * np + 1] = mma.mma(a[kc], {r[2], r[3]}, acc[2 * np + 1]);
      }
    return acc;
  };
  // S = Q K^T of a stage: the warpgroup's wgmma or the warps' mma.sync.
  auto qkTile = [&](Value stage) {
    return cfg.wgmma ? wgmmaS(stage) : rowsTimesTile(qFrag, kTile, D, stage);
  };

  // What the backward kernel's tile body gets from the loop.
  struct TileCtx {
    Value t, stage;
    bool windowTiles;
    SmallVector<MmaEmitter::Acc> s, dp;
    TileWeights tws;
    SmallVector<MmaEmitter::Acc> logit;
    SmallVector<Value> st;
    std::pair<Value, Value> nextKey;
    Value nextScore, writeNext, nextStage;
    Value slotGroup; // deterministic: the tile's slot copies
  };

  // The forward's online softmax and O update of tile t (in `stage`) from
  // its S: the new row maxima and sums, then (unless statsOnly) O.
  // `between` runs after the softmax, before P V.
  // `interior`: a window tile every row attends to whole.
  auto forwardTile = [&](Value t, Value stage, bool windowTiles,
                         ArrayRef<MmaEmitter::Acc> s, ArrayRef<Value> st,
                         bool statsOnly, function_ref<void()> between,
                         bool interior = false) -> SmallVector<Value> {
    TileWeights tw8 = tileWeights(t, stage, windowTiles, interior);
    SmallVector<MmaEmitter::Acc> logit = logitsOf(tw8, s), &vw = tw8.vw;

    // Online softmax per half (A: elements 0, 1; B: 2, 3). The row's
    // reference maximum m (the state) moves only when the tile's maximum
    // exceeds it by more than kRescaleSlack (base 2): O and l are both
    // relative to m, so any m gives the same O / l, and P = 2^(s - m) stays
    // below 2^kRescaleSlack (f32 sums, bf16 / f16 P: no overflow, the same
    // relative rounding), while most tiles after the first ones leave O
    // unscaled (with the exact maximum most window tiles rescaled O).
    // Maxima and sums as balanced trees: short dependency chains.
    Value mNew[2], shift[2], alpha[2], lsum[2];
    for (int64_t half = 0; half < 2; ++half) {
      SmallVector<Value> xs;
      for (int64_t nt = 0; nt < BK / 8; ++nt)
        for (int64_t par = 0; par < 2; ++par)
          xs.push_back(logit[nt][half * 2 + par]);
      Value mx = treeReduce(xs, [&](Value x, Value y) { return maxF(x, y); });
      mx = quadMax(b, mx);
      Value grow = cmpF(arith::CmpFPredicate::OGT, mx,
                        arith::AddFOp::create(
                            b, st[half], constF32(b, kRescaleSlack)));
      mNew[half] = sel(grow, maxF(st[half], mx), st[half]);
      shift[half] = sel(cmpF(arith::CmpFPredicate::OEQ, mNew[half], negInf),
                        constF32(b, 0.0), mNew[half]);
      alpha[half] =
          fastExp2(b, arith::SubFOp::create(b, st[half], shift[half]));
      lsum[half] = arith::MulFOp::create(b, st[2 + half], alpha[half]);
    }
    SmallVector<MmaEmitter::Acc> pw(BK / 8);
    SmallVector<Value> ps[2];
    for (int64_t nt = 0; nt < BK / 8; ++nt)
      for (int64_t e = 0; e < 4; ++e) {
        int64_t half = e / 2;
        Value p = fastExp2(b, arith::SubFOp::create(b, logit[nt][e], shift[half]));
        ps[half].push_back(p);
        pw[nt][e] = vw[nt][e] ? arith::MulFOp::create(b, p, vw[nt][e])
                                    .getResult()
                              : p;
      }
    for (int64_t half = 0; half < 2; ++half)
      lsum[half] = arith::AddFOp::create(
          b, lsum[half], treeReduce(ps[half], [&](Value x, Value y) {
            return arith::AddFOp::create(b, x, y).getResult();
          }));

    between();
    if (statsOnly)
      return SmallVector<Value>{mNew[0], mNew[1], lsum[0], lsum[1]};

    // O = alpha O + (P w) V.
    // The rescale only when some row of the warp has a new maximum
    // (alpha < 1): after the first tiles, most tiles leave O as it is.
    Value one = constF32(b, 1.0);
    SmallVector<MmaEmitter::Acc> o(DV / 8);
    {
      Value changed = orI(cmpF(arith::CmpFPredicate::UNE, alpha[0], one),
                          cmpF(arith::CmpFPredicate::UNE, alpha[1], one));
      Value any = NVVM::VoteSyncOp::create(
          b, b.getI1Type(), constI32(b, -1), changed,
          NVVM::VoteSyncKindAttr::get(b.getContext(),
                                      NVVM::VoteSyncKind::any));
      SmallVector<Type> accTypes(DV / 8 * 4, b.getF32Type());
      auto rescale = scf::IfOp::create(b, accTypes, any,
                                       /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard g5(b);
        b.setInsertionPointToStart(rescale.thenBlock());
        SmallVector<Value> scaled;
        for (int64_t i = 0; i < DV / 8 * 4; ++i)
          scaled.push_back(arith::MulFOp::create(b, st[4 + i],
                                                 alpha[(i % 4) / 2]));
        scf::YieldOp::create(b, scaled);
        b.setInsertionPointToStart(rescale.elseBlock());
        scf::YieldOp::create(b, ArrayRef<Value>(st).drop_front(4));
      }
      for (int64_t nt = 0; nt < DV / 8; ++nt)
        for (int64_t e = 0; e < 4; ++e)
          o[nt][e] = rescale.getResult(nt * 4 + e);
    }
    if (cfg.wgmma) {
      // O += P V with P in registers (mma.sync's A fragments of the
      // warp's 16 rows), V from the stage, in planes of 64 columns, 16
      // keys a step.
      Value vDesc = stageDesc(1, DV, stage);
      SmallVector<Value> accs;
      for (int64_t pl = 0; pl < DV / 64; ++pl)
        accs.push_back(wgmma.pack(ArrayRef<MmaEmitter::Acc>(o).slice(pl * 8, 8)));
      // (A's registers written before the fence, as wgmma requires.)
      SmallVector<MmaEmitter::AFrag> pa;
      for (int64_t kc = 0; kc < BK / 16; ++kc)
        pa.push_back(mma.packA(pw[2 * kc], pw[2 * kc + 1]));
      wgmma.fence();
      for (int64_t kc = 0; kc < BK / 16; ++kc)
        for (int64_t pl = 0; pl < DV / 64; ++pl)
          accs[pl] = wgmma.mmaRegA(
              accs[pl], pa[kc],
              wgmma.advance(vDesc, pl * BK * 128 + kc * 16 * 128));
      wgmma.commit();
      if (!cfg.deferPvWait())
        wgmma.wait(0);
      for (int64_t pl = 0; pl < DV / 64; ++pl) {
        SmallVector<MmaEmitter::Acc> part = wgmma.unpack(accs[pl], 64);
        for (int64_t j = 0; j < 8; ++j)
          o[pl * 8 + j] = part[j];
      }
    } else {
      for (int64_t kc = 0; kc < BK / 16; ++kc) {
        MmaEmitter::AFrag a = mma.packA(pw[2 * kc], pw[2 * kc + 1]);
        for (int64_t dc = 0; dc < DV / 16; ++dc) {
          Value row = add(idx(kc * 16), vRow0);
          auto r = mma.ldmatrixX4(
              vTile, {stage, row, add(vSwz[dc % 4], idx(64 * (dc / 4)))},
              true);
          o[2 * dc] = mma.mma(a, {r[0], r[1]}, o[2 * dc]);
          o[2 * dc + 1] = mma.mma(a, {r[2], r[3]}, o[2 * dc + 1]);
        }
      }
    }
    // (No closing barrier: the next iteration's barrier, which every warp
    // reaches only after this P V, comes before anything refills this
    // stage.)

    SmallVector<Value> yield = {mNew[0], mNew[1], lsum[0], lsum[1]};
    for (auto &acc : o)
      yield.append(acc.begin(), acc.end());
    return yield;
  };

  // One loop over the window tiles, one over the union tiles: each with
  // its own membership test (the window's needs no scores or weights). The
  // pipeline runs across both: the last window tile prefetches the first
  // union tile.
  // Forward: online softmax and O; Stats: only the row max and sum (the
  // backward kernel's first sweep); Backward: the gradients of a tile
  // (backwardTile, below).
  enum class Mode { Forward, Stats, Backward };
  std::function<SmallVector<Value>(const TileCtx &)> backwardTile;
  // (Three stages: the remainder in i32, a multiply-high rather than
  // 64-bit arithmetic; tile counts are far below 2^31.)
  auto stageOf = [&](Value t) {
    if (llvm::isPowerOf2_64(cfg.stages()))
      return remu(t, idx(cfg.stages()));
    return toIdx(arith::RemUIOp::create(b, toI32(t),
                                        constI32(b, cfg.stages())));
  };
  // A loop step's start and its next tile: the stages, the next tile's
  // keys, whose copies the step issues and whose key arrays its writers
  // fill.
  struct TileStep {
    Value t, stage, nextStage, hasNext;
    SmallVector<std::pair<Value, Value>> nextKeys;
    Value writeNext, nextScore; // set by issueNext
  };
  auto beginStep = [&](Value t) {
    TileStep st;
    st.t = t;
    st.stage = stageOf(t);
    Value next = add(t, idx(1));
    st.nextStage = stageOf(next);
    st.hasNext = cmpI(arith::CmpIPredicate::ult, next, tiles);
    // The next tile's keys (union indices: global loads) are requested
    // now and first used after this tile's S = Q K^T, which hides their
    // latency; its copies then run during this tile's softmax and P V.
    st.nextKeys = prefetchKeys(next, st.hasNext);
    // This tile's copies (issued during the previous tile) have landed,
    // and its key arrays are written (the previous iteration's barrier).
    asyncWait(b, asyncCommit(b), 0);
    if (cfg.wgmma) // cp.async wrote them; wgmma reads through the async proxy
      wgmma.fenceSharedWrites();
    gpu::BarrierOp::create(b);
    return st;
  };
  // The next tile's copies into its stage (every warp left it at an
  // earlier iteration's barrier).
  auto copyNext = [&](const TileStep &st) {
    {
      auto more = scf::IfOp::create(b, st.hasNext, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard g4(b);
      b.setInsertionPointToStart(more.thenBlock());
      issueCopies(st.nextKeys, st.nextStage, add(st.t, idx(1)));
    }
    asyncCommit(b);
  };
  // The next tile's copies, and for the writers its score.
  auto issueNext = [&](TileStep &st) {
    copyNext(st);
    st.writeNext = andI(st.hasNext, isWriter);
    st.nextScore = loadWriterScore(st.nextKeys.back(), st.writeNext);
  };
  // A forward step of tile t from its S: the next tile's copies, then its
  // softmax and O, with the next tile's key arrays (its score load had the
  // softmax to land) written between the softmax and P V.
  auto forwardStep = [&](TileStep &st, bool windowTiles,
                         ArrayRef<MmaEmitter::Acc> s, ArrayRef<Value> state,
                         bool statsOnly, bool interior = false) {
    issueNext(st);
    return forwardTile(
        st.t, st.stage, windowTiles, s, state, statsOnly,
        [&] {
          storeKeyInfo(st.nextKeys.back(), st.nextScore, st.writeNext,
                       st.nextStage);
        },
        interior);
  };
  auto tileLoop = [&](Value lb, Value ub, bool windowTiles, ValueRange state,
                      Mode mode = Mode::Forward) -> SmallVector<Value> {
    auto loop = scf::ForOp::create(b, lb, ub, idx(1), state);
    OpBuilder::InsertionGuard g3(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    SmallVector<Value> st(loop.getRegionIterArgs());
    TileStep step = beginStep(t);
    Value stage = step.stage;
    // Deterministic backward: the tile's slots, in flight during its
    // S, dP and softmax.
    Value slotGroup;
    if (mode == Mode::Backward && issueSlotCopies) {
      issueSlotCopies(stage);
      slotGroup = asyncCommit(b);
    }

    SmallVector<MmaEmitter::Acc> s = qkTile(stage);
    if (mode == Mode::Forward && windowTiles) {
      // Interior tiles (most of the window's) without the membership
      // test: one version of the step each way (block-uniform).
      Value tileStart = add(runLo, mul(t, idx(BK)));
      Value interior =
          andI(cmpI(arith::CmpIPredicate::sge, tileStart, sharedLo),
               cmpI(arith::CmpIPredicate::sle, add(tileStart, idx(BK)),
                    sharedEnd));
      auto ifOp = scf::IfOp::create(b, TypeRange(ValueRange(st)), interior,
                                    /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard gi(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        scf::YieldOp::create(
            b, forwardStep(step, windowTiles, s, st, false, /*interior=*/true));
        b.setInsertionPointToStart(ifOp.elseBlock());
        scf::YieldOp::create(b, forwardStep(step, windowTiles, s, st, false));
      }
      scf::YieldOp::create(b, ifOp.getResults());
      return SmallVector<Value>(loop.getResults());
    }
    if (mode != Mode::Backward) {
      scf::YieldOp::create(
          b, forwardStep(step, windowTiles, s, st, mode == Mode::Stats));
      return SmallVector<Value>(loop.getResults());
    }
    SmallVector<MmaEmitter::Acc> dp = rowsTimesTile(doFrag, vTile, DV, stage);
    issueNext(step);
    TileWeights tw8 = tileWeights(t, stage, windowTiles);
    SmallVector<MmaEmitter::Acc> logit = logitsOf(tw8, s);
    scf::YieldOp::create(
        b, backwardTile({t, stage, windowTiles, s, dp, tw8, logit, st,
                         step.nextKeys.back(), step.nextScore, step.writeNext,
                         step.nextStage, slotGroup}));
    return SmallVector<Value>(loop.getResults());
  };
  // The forward kernel's loop with its warps in two groups (cfg.pingpong):
  // per tile the first group computes S, the softmax and P V; the second
  // the previous tile's softmax and P V, then this tile's S (carried to
  // the next iteration), and after the loop its last tile's softmax and P
  // V. Each scheduler runs one warp of each group, so one's softmax
  // overlaps the other's MMAs where in lockstep both wait on the same
  // phase. Stages: tile t's copies (issued during tile t - 1) land in
  // stage t % 3, which the second group reads until its P V of tile t
  // early in iteration t + 1; iteration t refills stage (t + 1) % 3, last
  // read in iteration t - 1 (the barrier orders them). The first group's
  // threads write the next tile's key arrays (the writers: tid < BK).
  auto pingpongLoop = [&](Value lb, Value ub, bool windowTiles,
                          ValueRange state) -> SmallVector<Value> {
    const int64_t nS = BK / 8 * 4, nSt = static_cast<int64_t>(state.size());
    Value second = cmpI(arith::CmpIPredicate::uge, warp, idx(cfg.warps() / 2));
    SmallVector<Value> init(state.begin(), state.end());
    for (int64_t i = 0; i < nS; ++i)
      init.push_back(constF32(b, 0.0));
    auto unflatten = [&](ValueRange flat) {
      SmallVector<MmaEmitter::Acc> acc(BK / 8);
      for (int64_t nt = 0; nt < BK / 8; ++nt)
        for (int64_t e = 0; e < 4; ++e)
          acc[nt][e] = flat[nt * 4 + e];
      return acc;
    };
    auto flatS = [&](ArrayRef<MmaEmitter::Acc> acc) {
      SmallVector<Value> flat;
      for (auto &a : acc)
        flat.append(a.begin(), a.end());
      return flat;
    };
    SmallVector<Type> stTypes(state.getTypes());
    SmallVector<Type> allTypes = stTypes;
    allTypes.append(nS, b.getF32Type());
    // The second group's softmax and P V of tile t over its carried S.
    auto drain = [&](Value cond, Value t, ArrayRef<Value> st, ValueRange sv) {
      auto ifOp = scf::IfOp::create(b, stTypes, cond, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard gd(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, forwardTile(t, stageOf(t), windowTiles,
                                          unflatten(sv), st, false, [] {}));
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, st);
      return SmallVector<Value>(ifOp.getResults());
    };

    auto loop = scf::ForOp::create(b, lb, ub, idx(1), init);
    {
      OpBuilder::InsertionGuard gl(b);
      b.setInsertionPointToStart(loop.getBody());
      Value t = loop.getInductionVar();
      SmallVector<Value> it(loop.getRegionIterArgs());
      ArrayRef<Value> st = ArrayRef<Value>(it).take_front(nSt);
      ArrayRef<Value> sPrev = ArrayRef<Value>(it).drop_front(nSt);
      TileStep step = beginStep(t);
      auto group = scf::IfOp::create(b, allTypes, second,
                                     /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard gg(b);
        // Second group: tile t - 1's softmax and P V, the next tile's
        // copies, then tile t's S.
        b.setInsertionPointToStart(group.thenBlock());
        // (Its threads are no writers: the writer's score load and key
        // arrays are left out.)
        SmallVector<Value> y =
            drain(cmpI(arith::CmpIPredicate::ugt, t, lb), sub(t, idx(1)), st,
                  sPrev);
        copyNext(step);
        y.append(flatS(qkTile(step.stage)));
        scf::YieldOp::create(b, y);
        // First group: tile t whole.
        b.setInsertionPointToStart(group.elseBlock());
        SmallVector<Value> y1 = forwardStep(step, windowTiles,
                                            qkTile(step.stage), st,
                                            /*statsOnly=*/false);
        y1.append(sPrev.begin(), sPrev.end());
        scf::YieldOp::create(b, y1);
      }
      scf::YieldOp::create(b, group.getResults());
    }
    SmallVector<Value> res(loop.getResults());
    // The second group's last tile.
    return drain(andI(second, cmpI(arith::CmpIPredicate::ugt, ub, lb)),
                 sub(ub, idx(1)), ArrayRef<Value>(res).take_front(nSt),
                 ValueRange(res).drop_front(nSt));
  };

  if (cfg.backward) {
    // ---- The backward kernel (AttentionKernel.h). ----
    const int64_t R = cfg.warps() * 16; // rows (query, head) of the block
    Value zeroF = constF32(b, 0.0);
    Value posInf = constF32(b, std::numeric_limits<double>::infinity());
    FlatView fdo = flatten(b, dout()), fdq = flatten(b, dq());

    // Each row's log-sum-exp (base 2; nothing attended: +inf, so that
    // every P is 0): the forward's (natural log, -inf for nothing), or
    // sweep 1 over all the row's keys.
    Value lse[2];
    if (cfg.lse) {
      for (int64_t half = 0; half < 2; ++half) {
        Value l = load(lseArg(), {bi, half ? headB : headA,
                                  rows[rowOf(half)].index});
        lse[half] = sel(cmpF(arith::CmpFPredicate::OGT, l, negInf),
                        arith::MulFOp::create(b, l, constF32(b, kLog2e)),
                        posInf);
      }
    } else {
      SmallVector<Value> s0 = {negInf, negInf, zeroF, zeroF};
      SmallVector<Value> s1 = tileLoop(idx(0), tw, true, s0, Mode::Stats);
      SmallVector<Value> s2 = tileLoop(tw, tiles, false, s1, Mode::Stats);
      for (int64_t half = 0; half < 2; ++half) {
        Value l = quadSum(b, s2[2 + half]);
        lse[half] = sel(cmpF(arith::CmpFPredicate::OGT, l, zeroF),
                        arith::AddFOp::create(b, s2[half],
                                              math::Log2Op::create(b, l)),
                        posInf);
      }
    }

    // Delta = dot(dout, out) per row, and dO's A fragments.
    Value delta[2];
    for (int64_t half = 0; half < 2; ++half) {
      const RowInfo &r = rows[rowOf(half)];
      Value head = half ? headB : headA;
      Value bo = fo.linear(b, {bi, head, r.index});
      Value bd = fdo.linear(b, {bi, head, r.index});
      Value acc = zeroF;
      for (int64_t c = 0; c < DV / 8; ++c) {
        Value col = add(idx(c * 8), mul(tq, idx(2)));
        auto [o0, o1] = loadF32Pair(fo.view, add(bo, col));
        auto [d0, d1] = loadF32Pair(fdo.view, add(bd, col));
        acc = arith::AddFOp::create(b, acc, arith::MulFOp::create(b, o0, d0));
        acc = arith::AddFOp::create(b, acc, arith::MulFOp::create(b, o1, d1));
      }
      delta[half] = quadSum(b, acc);
    }
    doFrag = rowFragments(fdo, DV);

    // Every warp is done with sweep 1's stages. The block's Q and dO rows
    // (row r: warp r / 16's m16 row r % 16) into shared memory for dK and
    // dV, then tile 0 again; the first tile's wait covers them all.
    gpu::BarrierOp::create(b);
    auto rowHeadQuery = [&](Value r) -> std::pair<Value, Value> {
      Value w = divu(r, idx(16)), h = remu(r, idx(16));
      if (pairs) {
        Value ppr = idx(HB / 2);
        Value head = add(add(headBase, mul(remu(w, ppr), idx(2))),
                         divu(h, idx(8)));
        return {head, add(add(qBase, mul(divu(w, ppr), idx(8))),
                          remu(h, idx(8)))};
      }
      return {add(headBase, remu(w, idx(HB))),
              add(add(qBase, mul(divu(w, idx(HB)), idx(16))), h)};
    };
    auto fillRows = [&](Value tile, const FlatView &src, int64_t width) {
      int64_t chunks = width / 8, per = R * chunks / cfg.threads();
      for (int64_t e = 0; e < per; ++e) {
        Value c = add(tid, idx(e * cfg.threads()));
        Value r = divu(c, idx(chunks)), ch = remu(c, idx(chunks));
        auto [head, query] = rowHeadQuery(r);
        Value valid = cmpI(arith::CmpIPredicate::ult, query, n);
        Value from = add(src.linear(b, {bi, head, minI(query, sub(n, idx(1)))}),
                         mul(ch, idx(8)));
        asyncCopy16(b, tile, {r, swizzledCol(b, r, ch, chunks)}, src.view,
                    from, valid);
      }
    };
    // Deterministic: key j's scratch slot for this chunk and head block
    // (AttentionKernel.h), and whether this is the chunk's first touch of
    // j: its first block is the later of the chunk's first and j's first
    // (the blocks touching j are consecutive), and there the window tiles
    // come first. The writer of a tile's key row keeps that in slotSh (the
    // slot, or -1 - slot for a first touch; INT64_MIN: no key); at the
    // tile's start its slots come into stagingSh by cp.async (zero-filled
    // on a first touch), and the tile's partial sums are added to them and
    // stored: no global load waits inside the tile.
    const int64_t slotW = deterministicSlotWidth(D, DV);
    FlatView fsc;
    if (cfg.deterministic) {
      fsc = flatten(b, scratchArg());
      storeSlotInfo = [&](std::pair<Value, Value> key, Value cond, Value stage,
                          Value isWin) {
        auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
        OpBuilder::InsertionGuard gi(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        auto [j0, valid] = key;
        Value j = sel(valid, j0, idx(0));
        // The key's meta row (a whole allocation: one 16-byte load).
        FlatView fm = flatten(b, metaArg());
        auto v4 = VectorType::get({4}, b.getI32Type());
        auto row = vector::LoadOp::create(b, v4, fm.view,
                                          ValueRange{fm.linear(b, {bi, g, j})});
        row.setAlignment(16);
        auto meta = [&](int64_t f) {
          return toIdx(vector::ExtractOp::create(b, row, ArrayRef<int64_t>{f}));
        };
        Value entry = add(meta(0), sub(chunk, meta(1)));
        Value slot = add(mul(entry, hbCount), hb);
        Value first = cmpI(arith::CmpIPredicate::eq, blk,
                           maxI(meta(3), chunkFirst));
        first = andI(first,
                     orI(isWin, orI(cmpI(arith::CmpIPredicate::slt, j, runLo),
                                    cmpI(arith::CmpIPredicate::sge, j, runEnd))));
        Type i64 = b.getI64Type();
        Value s64 = arith::IndexCastOp::create(b, i64, slot);
        Value info = sel(first,
                         arith::SubIOp::create(
                             b, arith::ConstantIntOp::create(b, i64, -1), s64),
                         s64);
        info = sel(valid, info,
                   arith::ConstantIntOp::create(
                       b, i64, std::numeric_limits<int64_t>::min()));
        memref::StoreOp::create(b, info, slotSh, ValueRange{stage, tid});
      };
      issueSlotCopies = [&](Value stage) {
        const int64_t chunks = slotW / 4, total = BK * chunks;
        for (int64_t e = 0; e < (total + cfg.threads() - 1) / cfg.threads();
             ++e) {
          Value c = add(tid, idx(e * cfg.threads()));
          auto body = [&] {
            Value row = divu(c, idx(chunks)), ch = remu(c, idx(chunks));
            Value info = load(slotSh, {stage, row});
            Value rmw = cmpI(arith::CmpIPredicate::sge, info,
                             arith::ConstantIntOp::create(b, b.getI64Type(), 0));
            Value slot = sel(rmw, toIdx(info), idx(0));
            asyncCopy16(b, stagingSh, {row, mul(ch, idx(4))}, fsc.view,
                        add(fsc.linear(b, {slot}), mul(ch, idx(4))), rmw,
                        /*elems=*/4);
          };
          if ((e + 1) * cfg.threads() <= total)
            body();
          else
            ifThen(cmpI(arith::CmpIPredicate::ult, c, idx(total)), body);
        }
      };
    }
    fillRows(qSh, fq, D);
    fillRows(doSh, fdo, DV);
    prologue();

    // Sweep 2: per tile P, dP, dS; dQ in registers, dK, dV, du and dtau
    // by atomics.
    const int64_t nq = D / 8 * 4;
    const double scale = cfg.scale;
    Value warpRow = mul(warp, idx(16));
    // `body(j)` for the key of row `row` of a tile's key arrays, when it
    // is one (absent rows hold index INT_MAX).
    auto withTileKey = [&](Value stage, Value row,
                           function_ref<void(Value)> body) {
      Value j32 = arith::TruncIOp::create(b, b.getI32Type(),
                                          load(keyTileSh, {stage, row}));
      Value j = toIdx(j32);
      ifThen(andI(cmpI(arith::CmpIPredicate::sge, j32, constI32(b, 0)),
                  cmpI(arith::CmpIPredicate::slt, j, m)),
             [&] { body(j); });
    };
    // The slot (as an offset into the scratch) of the tile's key row `row`.
    auto slotAt = [&](Value stage, Value row) {
      Value info = load(slotSh, {stage, row});
      Value neg = cmpI(arith::CmpIPredicate::slt, info,
                       arith::ConstantIntOp::create(b, b.getI64Type(), 0));
      Value slot = sel(neg,
                       arith::SubIOp::create(
                           b, arith::ConstantIntOp::create(b, b.getI64Type(), -1),
                           info),
                       info);
      return fsc.linear(b, {toIdx(slot)});
    };
    // vals (f32, 4) plus the staged slot's columns [col, col + 4) of row
    // `row`, stored into the slot at `at` (16-byte aligned).
    auto slotAdd = [&](ArrayRef<Value> vals, Value row, Value col, Value at) {
      auto vt = VectorType::get({int64_t(vals.size())}, b.getF32Type());
      Value v = vector::FromElementsOp::create(b, vt, vals);
      auto ld = vector::LoadOp::create(b, vt, stagingSh, ValueRange{row, col});
      ld.setAlignment(16);
      vector::StoreOp::create(b, arith::AddFOp::create(b, ld, v), fsc.view,
                              ValueRange{at})
          .setAlignment(16);
    };
    backwardTile = [&](const TileCtx &c) -> SmallVector<Value> {
      bool weighted = !c.windowTiles && cfg.gate != Gate::none;
      SmallVector<Value> dqAcc(c.st.begin(), c.st.begin() + nq);
      Value dtauPart[2] = {c.st[nq], c.st[nq + 1]};
      SmallVector<MmaEmitter::Acc> ds(BK / 8), pw(BK / 8);
      SmallVector<Value> colPart(BK / 4, zeroF);
      for (int64_t nt = 0; nt < BK / 8; ++nt)
        for (int64_t e = 0; e < 4; ++e) {
          int64_t half = e / 2;
          Value p = fastExp2(b, arith::SubFOp::create(b, c.logit[nt][e],
                                                      lse[half]));
          Value wv = c.tws.vw[nt][e], w = c.tws.w[nt][e];
          Value dpRaw = c.dp[nt][e];
          Value dpv = wv ? arith::MulFOp::create(b, dpRaw, wv).getResult()
                         : dpRaw;
          Value dl = arith::MulFOp::create(
              b, p, arith::SubFOp::create(b, dpv, delta[half]));
          Value dls = arith::MulFOp::create(b, dl, constF32(b, scale));
          ds[nt][e] = (w && cfg.gate == Gate::kv)
                          ? arith::MulFOp::create(b, dls, w).getResult()
                          : dls;
          pw[nt][e] = wv ? arith::MulFOp::create(b, p, wv).getResult() : p;
          if (!weighted)
            continue;
          // dm (docs/Semantics.md section 9) where 0 < u - tau < 1.
          Value dm;
          if (cfg.gate == Gate::kv)
            dm = arith::AddFOp::create(b, arith::MulFOp::create(b, dls, c.s[nt][e]),
                                       arith::MulFOp::create(b, p, dpRaw));
          else if (cfg.gate == Gate::v)
            dm = arith::MulFOp::create(b, p, dpRaw);
          else
            dm = arith::DivFOp::create(b, dl, w);
          Value a = andI(cmpF(arith::CmpFPredicate::OGT, w, zeroF),
                         cmpF(arith::CmpFPredicate::OLT, w,
                              constF32(b, 1.0)));
          Value adm = sel(a, dm, zeroF);
          dtauPart[half] = arith::SubFOp::create(b, dtauPart[half], adm);
          colPart[nt * 2 + e % 2] =
              arith::AddFOp::create(b, colPart[nt * 2 + e % 2], adm);
        }
      storeKeyInfo(c.nextKey, c.nextScore, c.writeNext, c.nextStage);
      if (cfg.deterministic)
        storeSlotInfo(c.nextKey, c.writeNext, c.nextStage,
                      cmpI(arith::CmpIPredicate::ult, add(c.t, idx(1)), tw));

      // dS and P (times the value weight) into shared memory, as pairs.
      for (int64_t nt = 0; nt < BK / 8; ++nt)
        for (int64_t half = 0; half < 2; ++half) {
          Value row = add(warpRow, add(g8, idx(8 * half)));
          Value col = add(idx(nt * 8), mul(tq, idx(2)));
          for (auto [tile, vals] : {std::make_pair(dsSh, &ds),
                                    std::make_pair(pSh, &pw)})
            storePair((*vals)[nt][2 * half], (*vals)[nt][2 * half + 1], tile,
                      {row, col});
        }

      // du's direct part: the column sums of the warp's rows (lanes of one
      // column: lane % 4 fixed), one atomic per column and warp
      // (deterministic: into shared memory, summed over the warps below).
      if (weighted) {
        for (int64_t cp = 0; cp < BK / 4; ++cp)
          for (int32_t off : {4, 8, 16})
            colPart[cp] = arith::AddFOp::create(
                b, colPart[cp], shuffleXor(b, colPart[cp], off));
        ifThen(cmpI(arith::CmpIPredicate::ult, lane, idx(4)), [&] {
          for (int64_t cp = 0; cp < BK / 4; ++cp) {
            Value col = add(idx((cp / 2) * 8 + cp % 2), mul(tq, idx(2)));
            if (cfg.deterministic) {
              memref::StoreOp::create(b, colPart[cp], duSh,
                                      ValueRange{warp, col});
              continue;
            }
            withTileKey(c.stage, col, [&](Value j) {
              atomicAdd(colPart[cp], duAcc(), {bi, g, j});
            });
          }
        });
      }

      // dQ += dS K (dS as A fragments from registers; K^T by ldmatrix.trans).
      SmallVector<MmaEmitter::Acc> dqT(D / 8);
      for (int64_t nt = 0; nt < D / 8; ++nt)
        for (int64_t e = 0; e < 4; ++e)
          dqT[nt][e] = dqAcc[nt * 4 + e];
      for (int64_t kc = 0; kc < BK / 16; ++kc) {
        MmaEmitter::AFrag a = mma.packA(ds[2 * kc], ds[2 * kc + 1]);
        for (int64_t dc = 0; dc < D / 16; ++dc) {
          Value row = add(idx(kc * 16), vRow0);
          auto r = mma.ldmatrixX4(
              kTile, {c.stage, row, add(vSwz[dc % 4], idx(64 * (dc / 4)))},
              true);
          dqT[2 * dc] = mma.mma(a, {r[0], r[1]}, dqT[2 * dc]);
          dqT[2 * dc + 1] = mma.mma(a, {r[2], r[3]}, dqT[2 * dc + 1]);
        }
      }
      // (Deterministic: and the tile's slots.)
      if (cfg.deterministic)
        asyncWait(b, c.slotGroup, 1);
      gpu::BarrierOp::create(b); // dS and P are in shared memory

      // dK += dS^T Q and dV += P^T dO: warp w takes keys [16 mt, 16 mt + 16)
      // (mt = w % (BK / 16)) and its share of the columns, over all R rows.
      const int64_t mTiles = BK / 16, groups = cfg.warps() / mTiles;
      Value mt = remu(warp, idx(mTiles)), ng = divu(warp, idx(mTiles));
      Value aRow0 = add(remu(lane, idx(8)), mul(divu(lane, idx(16)), idx(8)));
      Value aCol = add(mul(mt, idx(16)),
                       mul(remu(divu(lane, idx(8)), idx(2)), idx(8)));
      auto keyGemm = [&](Value aTile, Value bTile, int64_t width, Value accMem,
                         int64_t colOff) {
        int64_t perN = width / 8 / groups;
        Value nb = mul(ng, idx(perN));
        SmallVector<MmaEmitter::Acc> acc(perN, mma.zeroAcc());
        for (int64_t ks = 0; ks < R / 16; ++ks) {
          auto a = mma.ldmatrixX4(aTile, {add(idx(ks * 16), aRow0), aCol},
                                  true);
          Value row = add(idx(ks * 16), vRow0);
          for (int64_t pp = 0; pp < perN / 2; ++pp) {
            Value chunk = add(add(nb, idx(2 * pp)), vChunk0);
            auto r = mma.ldmatrixX4(
                bTile, {row, swizzledCol(b, row, chunk, width / 8)}, true);
            acc[2 * pp] = mma.mma({a[0], a[1], a[2], a[3]}, {r[0], r[1]},
                                  acc[2 * pp]);
            acc[2 * pp + 1] = mma.mma({a[0], a[1], a[2], a[3]}, {r[2], r[3]},
                                      acc[2 * pp + 1]);
          }
        }
        if (!cfg.vectorReductions && !cfg.deterministic) {
          // Into the f32 rows by scalar atomics.
          for (int64_t half = 0; half < 2; ++half) {
            Value keyRow = add(mul(mt, idx(16)), add(g8, idx(8 * half)));
            withTileKey(c.stage, keyRow, [&](Value j) {
              for (int64_t i = 0; i < perN; ++i) {
                Value col =
                    add(mul(add(nb, idx(i)), idx(8)), mul(tq, idx(2)));
                atomicAdd(acc[i][2 * half], accMem, {bi, g, j, col});
                atomicAdd(acc[i][2 * half + 1], accMem,
                          {bi, g, j, add(col, idx(1))});
              }
            });
          }
          return;
        }
        // Into the f32 rows by vector reductions (red.global.add.v4.f32):
        // of two adjacent n8 tiles, lanes with tq even keep the first
        // tile's pair of a row and take their partner's (tq + 1), lanes
        // with tq odd the second tile's: 4 consecutive columns each, one
        // reduction instead of four scalar atomics. The shuffles come
        // before the key's guard (the quad shares the key, but the warp
        // does not).
        // (perN is even: AttentionKernelConfig::create asks each warp's
        // columns to be whole pairs of n8 tiles.)
        Value odd = cmpI(arith::CmpIPredicate::eq, remu(tq, idx(2)), idx(1));
        for (int64_t half = 0; half < 2; ++half) {
          SmallVector<std::pair<Value, std::array<Value, 4>>> runs;
          for (int64_t i = 0; i < perN; i += 2) {
            Value lo = acc[i][2 * half], hi = acc[i][2 * half + 1];
            Value lo2 = acc[i + 1][2 * half], hi2 = acc[i + 1][2 * half + 1];
            Value col = add(mul(add(nb, idx(i)), idx(8)), mul(tq, idx(2)));
            Value got0 = shuffleXor(b, sel(odd, lo, lo2), 1);
            Value got1 = shuffleXor(b, sel(odd, hi, hi2), 1);
            // tq even: columns [col, col + 4) of tile i; tq odd: columns
            // [col + 6, col + 10) = the partner's and its own of tile i + 1.
            Value at = sel(odd, add(col, idx(6)), col);
            runs.push_back({at,
                            {sel(odd, got0, lo), sel(odd, got1, hi),
                             sel(odd, lo2, got0), sel(odd, hi2, got1)}});
          }
          Value keyRow = add(mul(mt, idx(16)), add(g8, idx(8 * half)));
          withTileKey(c.stage, keyRow, [&](Value j) {
            if (cfg.deterministic) {
              // accMem: null; the slot's columns from colOff.
              Value at = slotAt(c.stage, keyRow);
              for (auto &[col, vals] : runs) {
                Value sc = add(col, idx(colOff));
                slotAdd(vals, keyRow, sc, add(at, sc));
              }
              return;
            }
            for (auto &[col, vals] : runs)
              reduceAdd(vals, accMem, {bi, g, j, col});
          });
        }
      };
      if (cfg.deterministic) {
        keyGemm(dsSh, qSh, D, Value(), 0);
        keyGemm(pSh, doSh, DV, Value(), D);
        // du's column of the tile's keys: the staged slot's (0 on a first
        // touch) plus, on weighted tiles, the warps' sums in warp order.
        ifThen(cmpI(arith::CmpIPredicate::ult, tid, idx(BK)), [&] {
          withTileKey(c.stage, tid, [&](Value) {
            Value col = add(slotAt(c.stage, tid), idx(D + DV));
            Value v = load(stagingSh, {tid, idx(D + DV)});
            if (weighted)
              for (int64_t w = 0; w < cfg.warps(); ++w)
                v = arith::AddFOp::create(b, v,
                                          load(duSh, {idx(w), tid}));
            // With its 3 padding columns (zero): the next tile's copy of
            // the slot reads whole 16-byte chunks.
            auto v4 = VectorType::get({4}, b.getF32Type());
            Value row = vector::FromElementsOp::create(
                b, v4, ValueRange{v, zeroF, zeroF, zeroF});
            vector::StoreOp::create(b, row, fsc.view, ValueRange{col})
                .setAlignment(16);
          });
        });
      } else {
        keyGemm(dsSh, qSh, D, dkeyAcc(), 0);
        keyGemm(pSh, doSh, DV, dvalueAcc(), 0);
      }
      // (No closing barrier: the next tile's barrier comes before anything
      // rewrites dS, P, the key arrays or this stage.)

      SmallVector<Value> yield;
      for (auto &a : dqT)
        yield.append(a.begin(), a.end());
      yield.append({dtauPart[0], dtauPart[1]});
      return yield;
    };
    SmallVector<Value> init2(nq + 2, zeroF);
    SmallVector<Value> b1 = tileLoop(idx(0), tw, true, init2, Mode::Backward);
    SmallVector<Value> b2 = tileLoop(tw, tiles, false, b1, Mode::Backward);
    ArrayRef<Value> dqAcc = ArrayRef<Value>(b2).take_front(nq);
    for (int64_t half = 0; half < 2; ++half)
      storeRow(rows[rowOf(half)].valid, half ? headB : headA,
               half ? rowB : rowA, dqAcc, half == 1, Value(), fdq, D);
    // dtau per query, summed over the heads (of the warp's halves here,
    // of the other warps and blocks by the atomics).
    Value t0 = quadSum(b, b2[nq]), t1 = quadSum(b, b2[nq + 1]);
    SmallVector<std::pair<Value, Value>> dt; // (row's RowInfo index, value)
    if (pairs)
      dt.push_back({arith::AddFOp::create(b, t0, t1), rowA});
    else
      dt.append({{t0, rowA}, {t1, rowB}});
    if (cfg.deterministic) {
      // Per query head (each (head, query) row is one quad's): summed over
      // the group in head order by buildDeterministicReduceLaunches.
      Value tq0 = cmpI(arith::CmpIPredicate::eq, tq, idx(0));
      for (int64_t half = 0; half < 2; ++half)
        ifThen(andI(rows[rowOf(half)].valid, tq0), [&] {
          memref::StoreOp::create(
              b, half ? t1 : t0, dtauHeadsArg(),
              ValueRange{bi, half ? headB : headA, half ? rowB : rowA});
        });
      return;
    }
    for (auto [ri, e] : llvm::enumerate(dt))
      ifThen(andI(rows[ri].valid, cmpI(arith::CmpIPredicate::eq, tq, idx(0))),
             [&] { atomicAdd(e.first, dtauAcc(), {bi, g, e.second}); });
    return;
  }
  SmallVector<Value> fin;
  if (cfg.pingpong) {
    SmallVector<Value> afterWindow =
        pingpongLoop(idx(0), tw, /*windowTiles=*/true, init);
    fin = pingpongLoop(tw, tiles, /*windowTiles=*/false, afterWindow);
  } else {
    SmallVector<Value> afterWindow =
        tileLoop(idx(0), tw, /*windowTiles=*/true, init);
    fin = tileLoop(tw, tiles, /*windowTiles=*/false, afterWindow);
    if (cfg.deferPvWait())
      wgmma.wait(0);
  }
  ArrayRef<Value> acc = ArrayRef<Value>(fin).drop_front(4);
  for (int64_t half = 0; half < 2; ++half) {
    Value l = quadSum(b, fin[2 + half]);
    Value live = cmpF(arith::CmpFPredicate::OGT, l, constF32(b, 0.0));
    Value inv = sel(live, arith::DivFOp::create(b, constF32(b, 1.0), l),
                    constF32(b, 0.0));
    storeRow(rows[rowOf(half)].valid, half ? headB : headA,
             half ? rowB : rowA, acc, half == 1, inv, fo, DV);
    if (cfg.lse) {
      // log-sum-exp = (max + log2(sum)) ln 2 (the logits are in base 2),
      // one lane of the quad per row.
      Value lse2 = arith::AddFOp::create(b, fin[half],
                                         math::Log2Op::create(b, l));
      Value lse = sel(live, arith::MulFOp::create(b, lse2, constF32(b, kLn2)),
                      negInf);
      ifThen(andI(rows[rowOf(half)].valid,
                  cmpI(arith::CmpIPredicate::eq, tq, idx(0))),
             [&] {
               memref::StoreOp::create(b, lse, lseArg(),
                                       ValueRange{bi, half ? headB : headA,
                                                  half ? rowB : rowA});
             });
    }
  }
}

} // namespace

MemRefType dynStridedMemRef(MLIRContext *ctx, int64_t rank, Type elem) {
  int64_t dyn = ShapedType::kDynamic;
  return MemRefType::get(
      SmallVector<int64_t>(rank, dyn), elem,
      StridedLayoutAttr::get(ctx, dyn, SmallVector<int64_t>(rank, dyn)));
}

namespace {
MemRefType dynStrided(MLIRContext *ctx, int64_t rank, Type elem) {
  return dynStridedMemRef(ctx, rank, elem);
}
constexpr llvm::StringLiteral kStubAttr = kKernelStubAttr;
} // namespace

SmallVector<Type> blockAttentionStubOperandTypes(MLIRContext *ctx, Type elem,
                                                 bool backward, bool lse,
                                                 bool deterministic) {
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  SmallVector<Type> types = {
      dynStrided(ctx, 4, elem), dynStrided(ctx, 4, elem),
      dynStrided(ctx, 4, elem), dynStrided(ctx, 3, f32),
      dynStrided(ctx, 3, f32),  dynStrided(ctx, 3, i32),
      dynStrided(ctx, 3, f32),  dynStrided(ctx, 4, i32),
      dynStrided(ctx, 3, i32),  dynStrided(ctx, 4, elem)};
  if (backward && deterministic)
    // dout; dq; scratch, meta, dtau per query head, chunk_blocks.
    types.append({dynStrided(ctx, 4, elem), dynStrided(ctx, 4, elem),
                  dynStrided(ctx, 2, f32), dynStrided(ctx, 4, i32),
                  dynStrided(ctx, 3, f32), IndexType::get(ctx)});
  else if (backward)
    // dout; dq; dkey, dvalue, du and dtau accumulators.
    types.append({dynStrided(ctx, 4, elem), dynStrided(ctx, 4, elem),
                  dynStrided(ctx, 4, f32), dynStrided(ctx, 4, f32),
                  dynStrided(ctx, 3, f32), dynStrided(ctx, 3, f32)});
  if (lse)
    types.push_back(dynStrided(ctx, 3, f32));
  return types;
}

func::FuncOp getOrCreateBlockAttentionStub(ModuleOp module,
                                           const AttentionKernelConfig &cfg) {
  MLIRContext *ctx = module.getContext();
  return getOrCreateStub(
      module, cfg.symbolName(),
      blockAttentionStubOperandTypes(ctx, cfg.elem, cfg.backward, cfg.lse,
                                     cfg.deterministic),
      cfg.backward ? "block_attention_backward" : "block_attention",
      [&](OpBuilder &mb, NamedAttrList &attrs) {
        attrs.append("elem", TypeAttr::get(cfg.elem));
        attrs.append("d", mb.getI64IntegerAttr(cfg.d));
        attrs.append("dv", mb.getI64IntegerAttr(cfg.dv));
        attrs.append("block_q", mb.getI64IntegerAttr(cfg.blockQ));
        attrs.append("heads", mb.getI64IntegerAttr(cfg.heads));
        attrs.append("key_tile", mb.getI64IntegerAttr(cfg.keyTile));
        attrs.append("window", mb.getI64IntegerAttr(cfg.window));
        attrs.append("scale", mb.getF64FloatAttr(cfg.scale));
        attrs.append("gate", GateAttr::get(ctx, cfg.gate));
        if (cfg.vectorReductions)
          attrs.append("vector_reductions", mb.getBoolAttr(true));
        if (cfg.lse)
          attrs.append("lse", mb.getBoolAttr(true));
        if (cfg.deterministic)
          attrs.append("deterministic", mb.getBoolAttr(true));
        if (cfg.pingpong)
          attrs.append("ping_pong", mb.getBoolAttr(true));
        if (cfg.wgmma)
          attrs.append("wgmma", mb.getBoolAttr(true));
      });
}

SmallVector<Type> thresholdTermStubOperandTypes(MLIRContext *ctx) {
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  return {dynStrided(ctx, 3, f32), dynStrided(ctx, 3, f32),
          dynStrided(ctx, 3, f32), dynStrided(ctx, 3, f32),
          dynStrided(ctx, 3, i32), dynStrided(ctx, 4, i32),
          dynStrided(ctx, 3, f32)};
}

func::FuncOp getOrCreateThresholdTermStub(ModuleOp module, int64_t window) {
  return getOrCreateStub(
      module, "sparsek_threshold_term_w" + std::to_string(window),
      thresholdTermStubOperandTypes(module.getContext()), "threshold_term",
      [&](OpBuilder &mb, NamedAttrList &attrs) {
        attrs.append("window", mb.getI64IntegerAttr(window));
      });
}

std::optional<int64_t> thresholdTermStubWindow(func::FuncOp f) {
  DictionaryAttr dict = stubAttrsOfKind(f, {"threshold_term"});
  auto w = dict ? dict.getAs<IntegerAttr>("window") : IntegerAttr();
  if (!w || w.getInt() < 0)
    return std::nullopt;
  return w.getInt();
}

bool isKernelStub(func::FuncOp f) {
  return f.isExternal() && f->hasAttr(kStubAttr);
}

func::FuncOp
getOrCreateStub(ModuleOp module, StringRef name, TypeRange operands,
                StringRef kind,
                function_ref<void(OpBuilder &, NamedAttrList &)> attrs) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  MLIRContext *ctx = module.getContext();
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  auto f = func::FuncOp::create(mb, module.getLoc(), name,
                                FunctionType::get(ctx, operands, {}));
  f.setPrivate();
  NamedAttrList list;
  list.append("kind", mb.getStringAttr(kind));
  attrs(mb, list);
  f->setAttr(kStubAttr, list.getDictionary(ctx));
  return f;
}

DictionaryAttr stubAttrsOfKind(func::FuncOp f, ArrayRef<StringRef> kinds) {
  auto dict = f->getAttrOfType<DictionaryAttr>(kStubAttr);
  auto kind = dict ? dict.getAs<StringAttr>("kind") : StringAttr();
  if (!kind || !llvm::is_contained(kinds, kind.getValue()))
    return {};
  return dict;
}

std::optional<AttentionKernelConfig> stubConfig(func::FuncOp f) {
  DictionaryAttr dict =
      stubAttrsOfKind(f, {"block_attention", "block_attention_backward"});
  if (!dict)
    return std::nullopt;
  auto kind = dict.getAs<StringAttr>("kind");
  auto elem = dict.getAs<TypeAttr>("elem");
  auto gate = dict.getAs<GateAttr>("gate");
  auto scale = dict.getAs<FloatAttr>("scale");
  auto i64 = [&](StringRef n) -> std::optional<int64_t> {
    if (auto a = dict.getAs<IntegerAttr>(n))
      return a.getInt();
    return std::nullopt;
  };
  auto d = i64("d"), dv = i64("dv"), bq = i64("block_q"),
       bk = i64("key_tile"), w = i64("window");
  // Query heads per block: 1 when absent.
  int64_t heads = i64("heads").value_or(1);
  if (!elem || !gate || !scale || !d || !dv || !bq || !bk || !w)
    return std::nullopt;
  auto cfg = AttentionKernelConfig::create(
      elem.getValue(), *d, *dv, *bq, heads, *bk, *w, scale.getValueAsDouble(),
      gate.getValue(), kind.getValue() == "block_attention_backward");
  if (cfg) {
    auto vr = dict.getAs<BoolAttr>("vector_reductions");
    cfg->vectorReductions = cfg->backward && vr && vr.getValue();
    auto lse = dict.getAs<BoolAttr>("lse");
    cfg->lse = lse && lse.getValue();
    auto det = dict.getAs<BoolAttr>("deterministic");
    cfg->deterministic = cfg->backward && det && det.getValue();
    auto pp = dict.getAs<BoolAttr>("ping_pong");
    cfg->pingpong = pp && pp.getValue();
    if (cfg->pingpong && !cfg->pingPongAllowed())
      return std::nullopt;
    auto wg = dict.getAs<BoolAttr>("wgmma");
    cfg->wgmma = wg && wg.getValue();
    if (cfg->wgmma && !cfg->wgmmaAllowed())
      return std::nullopt;
    if (cfg->sharedBytes() > AttentionKernelConfig::kMaxSharedBytes)
      return std::nullopt;
  }
  return cfg;
}

/// The shared tiles in dynamic shared memory (the backward kernel's, and
/// the forward kernel's when its stages exceed 48 KiB): byte offsets
/// (128-aligned) of K, V, the key arrays (ordered keys, scores), then the
/// backward's Q, dO, dS, P and (deterministic) the warps' du column sums,
/// the tile's slot infos (per stage) and its slots' contents, then the
/// total.
static std::array<int64_t, 12> dynamicLayout(const AttentionKernelConfig &c) {
  const int64_t st = c.stages();
  const int64_t rows = c.backward ? c.warps() * 16 : 0;
  const int64_t det = c.deterministic ? 1 : 0;
  const int64_t sizes[11] = {st * c.keyTile * c.d * 2,
                            st * c.keyTile * c.dv * 2,
                            st * c.keyTile * 8,
                            st * c.keyTile * 4,
                            rows * c.d * 2,
                            rows * c.dv * 2,
                            rows * c.dsStride() * 2,
                            rows * c.dsStride() * 2,
                            det * c.warps() * c.keyTile * 4,
                            det * st * c.keyTile * 8,
                            det * c.keyTile *
                                deterministicSlotWidth(c.d, c.dv) * 4};
  std::array<int64_t, 12> off{};
  for (int i = 0; i < 11; ++i)
    off[i + 1] = off[i] + (sizes[i] + 127) / 128 * 128;
  return off;
}

/// The wgmma forward's dynamic shared memory: byte offsets (1024-aligned,
/// from a 1024-aligned base) of K, V, the key arrays and the block's Q
/// rows, then the total.
static std::array<int64_t, 6> wgmmaLayout(const AttentionKernelConfig &c) {
  const int64_t st = c.stages();
  const int64_t sizes[5] = {st * c.keyTile * c.d * 2,
                            st * c.keyTile * c.dv * 2,
                            st * c.keyTile * 8,
                            st * c.keyTile * 4,
                            c.warps() * 16 * c.d * 2};
  std::array<int64_t, 6> off{};
  for (int i = 0; i < 5; ++i)
    off[i + 1] = off[i] + (sizes[i] + 1023) / 1024 * 1024;
  return off;
}

int64_t AttentionKernelConfig::sharedBytes() const {
  if (wgmma)
    return wgmmaLayout(*this)[5];
  if (dynamicShared())
    return dynamicLayout(*this)[11];
  return stageBytes();
}

int64_t AttentionKernelConfig::stageBytes() const {
  // K and V rows, then per key its ordered key (8 bytes) and score.
  return stages() * keyTile * ((d + dv) * 2 + 12);
}

bool AttentionKernelConfig::dynamicShared() const {
  return backward || wgmma || stageBytes() > 48 * 1024;
}

bool AttentionKernelConfig::shrinkToFit() {
  for (int64_t t = keyTile - 16; t >= 16 && sharedBytes() > kMaxSharedBytes;
       t -= 16) {
    std::optional<AttentionKernelConfig> c = create(
        elem, d, dv, blockQ, heads, t, window, scale, gate, backward);
    if (!c)
      continue;
    c->vectorReductions = vectorReductions;
    c->lse = lse;
    c->deterministic = deterministic;
    c->pingpong = pingpong;
    c->wgmma = wgmma && c->wgmmaAllowed();
    *this = *c;
  }
  return sharedBytes() <= kMaxSharedBytes;
}

std::optional<AttentionKernelConfig>
AttentionKernelConfig::create(Type elem, int64_t d, int64_t dv, int64_t blockQ,
                              int64_t heads, int64_t keyTile, int64_t window,
                              double scale, Gate gate, bool backward) {
  AttentionKernelConfig c;
  c.elem = elem;
  c.d = d;
  c.dv = dv;
  c.blockQ = blockQ;
  c.heads = heads;
  c.keyTile = keyTile;
  c.window = window;
  c.scale = scale;
  c.gate = gate;
  c.backward = backward;
  // The backward kernel: the block's R = 16 warps rows as the K dimension
  // of dK and dV, whose keys (m16 tiles) and columns (pairs of n8 tiles,
  // one ldmatrix.x4 each) are shared out among the warps.
  auto keyGemmSplits = [&](int64_t width) {
    int64_t mTiles = keyTile / 16;
    if (mTiles == 0 || c.warps() % mTiles)
      return false;
    int64_t groups = c.warps() / mTiles;
    return (width / 8) % groups == 0 && (width / 8 / groups) % 2 == 0;
  };
  // Evaluated only after the shape checks below: warps() is zero for
  // blockQ * heads < 16 and the layout's products overflow for huge dims
  // (both reached by fuzzed tile attributes).
  auto backwardOk = [&] {
    return !backward || (keyGemmSplits(d) && keyGemmSplits(dv));
  };
  bool covered =
      (elem.isF16() || elem.isBF16()) &&
      // Head dims: ldmatrix rows of 8 or 16 chunks (the swizzle needs 8+).
      (d == 64 || d == 128) && (dv == 64 || dv == 128) &&
      // Whole warps, at most 8 of them: 16 queries of one head, or with
      // an even head count 8 queries of two heads.
      heads >= 1 && heads <= 8 && blockQ >= 1 && blockQ <= 128 &&
      blockQ % (c.headPairs() ? 8 : 16) == 0 && blockQ * heads <= 128 &&
      // Whole m16n8k16 steps along the keys.
      keyTile >= 16 && keyTile <= 64 && keyTile % 16 == 0 &&
      // Every thread copies the same number of 16-byte chunks, and the
      // tile's key indices are written one per thread.
      (keyTile * d / 8) % c.threads() == 0 &&
      (keyTile * dv / 8) % c.threads() == 0 && keyTile <= c.threads() &&
      backwardOk() &&
      // Static shared memory up to 48 KiB (the forward kernel's stages),
      // dynamic beyond (opted in at launch) up to kMaxSharedBytes.
      c.sharedBytes() <= kMaxSharedBytes &&
      window >= 0 && scale > 0;
  if (!covered)
    return std::nullopt;
  return c;
}

std::string AttentionKernelConfig::symbolName() const {
  std::string gateName = stringifyGate(gate).str();
  float s = static_cast<float>(scale);
  uint32_t bits;
  std::memcpy(&bits, &s, sizeof(bits));
  return llvm::formatv("sparsek_block_attention{9}_{0}_d{1}_dv{2}_bq{3}_h{4}_"
                       "bk{5}_w{6}_{7}_s{8:x-}{10}{11}{12}{13}{14}",
                       elem.isBF16() ? "bf16" : "f16", d, dv, blockQ, heads,
                       keyTile, window, gateName, bits,
                       backward ? "_backward" : "",
                       vectorReductions ? "_r4" : "", lse ? "_lse" : "",
                       deterministic ? "_det" : "", pingpong ? "_pp" : "",
                       wgmma ? "_wg" : "")
      .str();
}

void buildBlockAttentionLaunch(ImplicitLocOpBuilder &b, ModuleOp module,
                               const AttentionKernelConfig &cfg,
                               ArrayRef<Value> operands) {
  MLIRContext *ctx = b.getContext();
  auto wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  int64_t stages = cfg.stages();
  std::string base = cfg.symbolName();
  struct Tile {
    const char *suffix;
    MemRefType type;
  } tiles[] = {
      {"_k", MemRefType::get({stages, cfg.keyTile, cfg.d}, cfg.elem,
                             MemRefLayoutAttrInterface{}, wg)},
      {"_v", MemRefType::get({stages, cfg.keyTile, cfg.dv}, cfg.elem,
                             MemRefLayoutAttrInterface{}, wg)},
      {"_key", MemRefType::get({stages, cfg.keyTile}, b.getI64Type(),
                               MemRefLayoutAttrInterface{}, wg)},
      {"_u", MemRefType::get({stages, cfg.keyTile}, b.getF32Type(),
                             MemRefLayoutAttrInterface{}, wg)}};
  // Shared tiles: private workgroup globals aligned to 128 bytes (16-byte
  // cp.async and ldmatrix rows need it; attributions would be 2-aligned).
  // Kernel outlining copies them into the kernel's module.
  const bool dynamic = cfg.dynamicShared();
  for (const Tile &t : tiles) {
    if (dynamic)
      break; // all in dynamic shared memory
    declareWorkgroupGlobal(module, b.getLoc(), base + t.suffix, t.type, 128);
  }

  // Grid: NB * (Hq / heads) * B blocks (at least one; the kernel skips the
  // rest).
  // Deterministic backward: ceil(NB / chunk_blocks) chunks instead of NB.
  Value q = operands[0];
  Value one = constIndex(b, 1);
  Value nb = arith::CeilDivUIOp::create(b, memref::DimOp::create(b, q, 2),
                                        constIndex(b, cfg.blockQ));
  if (cfg.deterministic)
    nb = arith::CeilDivUIOp::create(b, nb, operands[15]);
  Value grid = arith::MaxUIOp::create(
      b,
      arith::MulIOp::create(
          b,
          arith::MulIOp::create(
              b, nb,
              arith::DivUIOp::create(b, memref::DimOp::create(b, q, 1),
                                     constIndex(b, cfg.heads))),
          memref::DimOp::create(b, q, 0)),
      one);
  // The backward kernel's tiles (over 48 KiB), and the forward's when its
  // stages exceed 48 KiB, are views of the dynamic shared memory, the
  // kernel's only shared memory (next to static shared memory,
  // gpu.dynamic_shared_memory would alias it: MLIR 22 lowers it to a
  // zero-sized static array).
  // The lowering makes the dynamic memory's base a 1-byte static variable
  // (.shared .align 16 .b8 __dynamic_shmem__0) ahead of the dynamic
  // window: 128 more bytes keep the last tile inside the block's shared
  // memory wherever the window starts.
  // (The wgmma kernel's tiles are 1024-aligned from wherever the window
  // starts: 1024 more.)
  Value dynBytes;
  if (dynamic)
    dynBytes = arith::ConstantIntOp::create(
        b, b.getI32Type(), cfg.sharedBytes() + (cfg.wgmma ? 1024 : 128));
  auto launch = gpu::LaunchOp::create(b, grid, one, one,
                                      constIndex(b, cfg.threads()), one, one,
                                      dynBytes);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  SmallVector<Value> shared;
  Value smemBase; // the wgmma kernel's: the tiles' shared address (i64)
  if (cfg.wgmma) {
    // K, V [stages][planes][keys][64], the key arrays, Q [planes][rows]
    // [64]: views at 1024-aligned offsets from
    // the first 1024-aligned byte of the window (the swizzle atoms'
    // alignment, which the descriptors assume).
    auto off = wgmmaLayout(cfg);
    Value dyn = gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                           MemRefLayoutAttrInterface{}, wg));
    Value addr = arith::IndexCastOp::create(
        b, b.getI64Type(),
        memref::ExtractAlignedPointerAsIndexOp::create(b, dyn));
    auto c64 = [&](int64_t v) {
      return arith::ConstantIntOp::create(b, b.getI64Type(), v);
    };
    Value pad = arith::AndIOp::create(b, arith::SubIOp::create(b, c64(0), addr),
                                      c64(1023));
    smemBase = arith::AddIOp::create(b, addr, pad);
    Value padIdx = arith::IndexCastOp::create(b, b.getIndexType(), pad);
    int64_t rows = cfg.warps() * 16;
    MemRefType types[5] = {
        MemRefType::get({stages, cfg.d / 64, cfg.keyTile, 64}, cfg.elem,
                        MemRefLayoutAttrInterface{}, wg),
        MemRefType::get({stages, cfg.dv / 64, cfg.keyTile, 64}, cfg.elem,
                        MemRefLayoutAttrInterface{}, wg),
        tiles[2].type, tiles[3].type,
        MemRefType::get({cfg.d / 64, rows, 64}, cfg.elem,
                        MemRefLayoutAttrInterface{}, wg)};
    for (auto [i, type] : llvm::enumerate(types))
      shared.push_back(memref::ViewOp::create(
          b, type, dyn,
          arith::AddIOp::create(b, padIdx, constIndex(b, off[i])),
          ValueRange{}));
  } else if (dynamic) {
    auto off = dynamicLayout(cfg);
    Value dyn = gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                           MemRefLayoutAttrInterface{}, wg));
    int64_t rows = cfg.warps() * 16;
    SmallVector<MemRefType> types;
    for (const Tile &t : tiles)
      types.push_back(t.type);
    if (cfg.backward) {
      types.push_back(MemRefType::get({rows, cfg.d}, cfg.elem,
                                      MemRefLayoutAttrInterface{}, wg));
      types.push_back(MemRefType::get({rows, cfg.dv}, cfg.elem,
                                      MemRefLayoutAttrInterface{}, wg));
      for (int i = 0; i < 2; ++i)
        types.push_back(MemRefType::get({rows, cfg.dsStride()}, cfg.elem,
                                        MemRefLayoutAttrInterface{}, wg));
      if (cfg.deterministic) {
        types.push_back(MemRefType::get({cfg.warps(), cfg.keyTile},
                                        b.getF32Type(),
                                        MemRefLayoutAttrInterface{}, wg));
        types.push_back(MemRefType::get({stages, cfg.keyTile}, b.getI64Type(),
                                        MemRefLayoutAttrInterface{}, wg));
        types.push_back(MemRefType::get(
            {cfg.keyTile, deterministicSlotWidth(cfg.d, cfg.dv)},
            b.getF32Type(), MemRefLayoutAttrInterface{}, wg));
      }
    }
    for (auto [i, type] : llvm::enumerate(types))
      shared.push_back(memref::ViewOp::create(b, type, dyn,
                                              constIndex(b, off[i]),
                                              ValueRange{}));
  } else {
    for (const Tile &t : tiles)
      shared.push_back(
          memref::GetGlobalOp::create(b, t.type, base + t.suffix));
  }
  KernelBody(b, cfg, operands, shared, launch.getThreadIds().x,
             launch.getBlockIds().x, smemBase)
      .build();
  gpu::TerminatorOp::create(b);
}

} // namespace mlir::sparsek::gpu_kernels
