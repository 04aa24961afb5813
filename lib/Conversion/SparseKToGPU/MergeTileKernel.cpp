//===- MergeTileKernel.cpp - the selection trees' lower levels on the GPU -===//
//
// The parallel selection's merge-sort trees (ParallelSelection.cpp) build
// level s from level s - 1 by a merge round: every entry binary-searches
// its node's other children for its place in the merged node. As foralls
// that is one launch per level, each search a chain of dependent global
// loads. The nodes of levels 1..kMergeTileLevels (4^5 = 1024 positions at
// arity 4) lie within aligned tiles of 2^kMergeTileLog2 positions, so one
// launch builds them all: one thread block per (batch, head, tile), one
// thread per entry, the tile's tags and values in shared memory. Per
// level: every entry binary-searches the other children in shared memory
// (phase A), a barrier, the entries move to their places in the same
// buffers and their counts (and sums) go to a shared staging area by
// destination (B), a barrier, and the staged counts go to global memory in
// position order (C), consecutive threads storing consecutive elements.
// (Stored by each entry at its scattered destination, as the forall rounds
// do, every 4- or 8-byte store costs an L2 sector: measured on an H200 at
// M = 65536, two rows, 20 us for W2's tiles and 37 us for W1's, no faster
// than the five rounds they replace; NOTES run 148.) Positions within the
// tile are i32 (index arithmetic is 64-bit, two instructions an operation,
// and with one block per SM the searches are bound by issue: 18.7 + 27.2 us
// staged with index positions, 15.7 + 18.5 with i32; NOTES runs 149-150).
// The top level's tags and values end in the outputs, and the rounds above
// continue from there.
//
// The arithmetic is the forall round's, entry for entry (the same
// fractional sums in the same order), so the tree is bit-identical.
//
// Stub kind "merge_tiles", attribute `sums` (false: W2, f32 sort keys
// travel with the tags and order them with the tags as tie-break; true: W1,
// tags ordered as integers, f64 fractional sums): operands (tags in [B, H,
// M] i32, values in [B, H, M], tags out, values out, zb [R, B, H, M, A - 1]
// i32, and with sums fz [R, B, H, M, A - 1] f64).
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "Emitters.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::sparsek::gpu_kernels {

namespace {

using P = arith::CmpIPredicate;
using FP = arith::CmpFPredicate;

constexpr int64_t kArityLog2 = detail::kSelectionArityLog2;
constexpr int64_t kArity = int64_t(1) << kArityLog2;
constexpr int64_t kTile = int64_t(1) << detail::kMergeTileLog2;

MemRefType sharedType(MLIRContext *ctx, Type elem, int64_t size) {
  auto wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  return MemRefType::get({size}, elem, MemRefLayoutAttrInterface{}, wg);
}

} // namespace

SmallVector<Type> mergeTilesStubOperandTypes(MLIRContext *ctx, bool sums) {
  Type i32 = IntegerType::get(ctx, 32);
  Type val = sums ? Type(Float64Type::get(ctx)) : Type(Float32Type::get(ctx));
  SmallVector<Type> types = {
      dynStridedMemRef(ctx, 3, i32), dynStridedMemRef(ctx, 3, val),
      dynStridedMemRef(ctx, 3, i32), dynStridedMemRef(ctx, 3, val),
      dynStridedMemRef(ctx, 5, i32)};
  if (sums)
    types.push_back(dynStridedMemRef(ctx, 5, Float64Type::get(ctx)));
  return types;
}

func::FuncOp getOrCreateMergeTilesStub(ModuleOp module, bool sums) {
  return getOrCreateStub(
      module, sums ? "sparsek_merge_tiles_sums" : "sparsek_merge_tiles_keys",
      mergeTilesStubOperandTypes(module.getContext(), sums), "merge_tiles",
      [&](OpBuilder &mb, NamedAttrList &attrs) {
        attrs.append("sums", mb.getBoolAttr(sums));
      });
}

std::optional<bool> mergeTilesStubSums(func::FuncOp f) {
  DictionaryAttr dict = stubAttrsOfKind(f, {"merge_tiles"});
  auto sums = dict ? dict.getAs<BoolAttr>("sums") : BoolAttr();
  if (!sums)
    return std::nullopt;
  return sums.getValue();
}

void buildMergeTilesLaunch(ImplicitLocOpBuilder &b, ModuleOp module, bool sums,
                           ArrayRef<Value> operands) {
  Value tagsIn = operands[0], valsIn = operands[1], tagsOut = operands[2],
        valsOut = operands[3], zb = operands[4];
  Value fz = sums ? operands[5] : Value();
  ScalarOps h{b};
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type(), f64 = b.getF64Type();
  Type valType = sums ? f64 : Type(b.getF32Type());
  constexpr int64_t kCounts = kArity - 1;
  MemRefType tagsType = sharedType(ctx, i32, kTile);
  MemRefType valsType = sharedType(ctx, valType, kTile);
  MemRefType zbType = sharedType(ctx, i32, kTile * kCounts);
  MemRefType fzType = sharedType(ctx, f64, kTile * kCounts);
  const char *tagsName = "sparsek_merge_tile_tags";
  const char *valsName =
      sums ? "sparsek_merge_tile_sums" : "sparsek_merge_tile_keys";
  const char *zbName = "sparsek_merge_tile_zb";
  const char *fzName = "sparsek_merge_tile_fz";
  declareWorkgroupGlobal(module, b.getLoc(), tagsName, tagsType, 16);
  declareWorkgroupGlobal(module, b.getLoc(), valsName, valsType, 16);
  declareWorkgroupGlobal(module, b.getLoc(), zbName, zbType, 16);
  if (sums)
    declareWorkgroupGlobal(module, b.getLoc(), fzName, fzType, 16);

  auto dim = [&](Value m, int64_t i) { return memref::DimOp::create(b, m, i); };
  Value heads = dim(tagsIn, 1), m = dim(tagsIn, 2);
  Value rows = h.mul(dim(tagsIn, 0), heads);
  Value tilesPerRow = h.divu(h.add(m, h.idx(kTile - 1)), h.idx(kTile));
  Value total = h.mul(rows, tilesPerRow);
  Value one = h.idx(1), zero = h.idx(0);
  auto launch = gpu::LaunchOp::create(b, h.maxI(total, one), one, one,
                                      h.idx(kTile), one, one);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value q = launch.getThreadIds().x, bid = launch.getBlockIds().x;
  auto store = [&](Value v, Value mem, ValueRange i) {
    memref::StoreOp::create(b, v, mem, i);
  };
  // Every thread of a block takes the same branch (the barriers inside).
  h.ifThen(h.cmpI(P::ult, bid, total), [&] {
    Value row = h.divu(bid, tilesPerRow);
    Value start = h.mul(h.remu(bid, tilesPerRow), h.idx(kTile));
    Value bi = h.divu(row, heads), hi = h.remu(row, heads);
    Value mLoc = h.minI(h.sub(m, start), h.idx(kTile));
    Value valid = h.cmpI(P::ult, q, mLoc);
    // Positions within the tile in i32 (index arithmetic is 64-bit, two
    // instructions per operation, and the searches are bound by issue).
    auto c32 = [&](int64_t v) { return constI32(b, v); };
    Value q32 = h.toI32(q), mLoc32 = h.toI32(mLoc);
    auto shl = [&](Value x, int64_t n) {
      return arith::ShLIOp::create(b, x, c32(n)).getResult();
    };
    auto shr = [&](Value x, int64_t n) {
      return arith::ShRUIOp::create(b, x, c32(n)).getResult();
    };
    Value tagsS = memref::GetGlobalOp::create(b, tagsType, tagsName);
    Value valsS = memref::GetGlobalOp::create(b, valsType, valsName);
    Value zbS = memref::GetGlobalOp::create(b, zbType, zbName);
    Value fzS =
        sums ? Value(memref::GetGlobalOp::create(b, fzType, fzName)) : Value();
    h.ifThen(valid, [&] {
      Value g = h.add(start, q);
      store(h.load(tagsIn, {bi, hi, g}), tagsS, {q});
      store(h.load(valsIn, {bi, hi, g}), valsS, {q});
    });
    gpu::BarrierOp::create(b);

    for (int64_t s = 1; s <= detail::kMergeTileLevels; ++s) {
      int64_t sh = (s - 1) * kArityLog2; // log2 of a child's size
      // A: every entry's place in its merged node, its counts and sums
      // (reads of the level only).
      SmallVector<Type> types = {i32, i32, valType};
      types.append(kCounts, i32);
      if (sums)
        types.append(kCounts, f64);
      auto place = scf::IfOp::create(b, types, valid, /*withElse=*/true);
      {
        OpBuilder::InsertionGuard ig(b);
        b.setInsertionPointToStart(place.elseBlock());
        SmallVector<Value> none = {c32(0), c32(0),
                                   sums ? detail::constF64(b, 0)
                                        : constF32(b, 0)};
        none.append(kCounts, c32(0));
        if (sums)
          none.append(kCounts, detail::constF64(b, 0));
        scf::YieldOp::create(b, none);
        b.setInsertionPointToStart(place.thenBlock());
        Value t = h.load(tagsS, {q});
        Value v = h.load(valsS, {q});
        Value child = shr(q32, sh);
        Value i = h.sub(q32, shl(child, sh));
        Value c = h.andI(child, c32(kArity - 1));
        Value nodeStart = shl(shr(child, kArityLog2), sh + kArityLog2);
        auto childStart = [&](Value d) {
          return h.minI(h.add(nodeStart, arith::ShLIOp::create(b, d, c32(sh))),
                        mLoc32);
        };
        // The other children (c + j) mod A: their entries below this one,
        // by binary searches advanced together (sh + 1 halvings).
        SmallVector<Value> sib, los, inits;
        for (int64_t j = 1; j < kArity; ++j) {
          Value d = h.andI(h.add(c, c32(j)), c32(kArity - 1));
          sib.push_back(d);
          Value lo = childStart(d);
          los.push_back(lo);
          Value hiEnd = h.minI(h.add(lo, c32(int64_t(1) << sh)), mLoc32);
          inits.append({lo, h.sub(hiEnd, lo)});
        }
        auto loop = scf::ForOp::create(b, zero, h.idx(sh + 1), one, inits);
        {
          OpBuilder::InsertionGuard lg(b);
          b.setInsertionPointToStart(loop.getBody());
          ValueRange a = loop.getRegionIterArgs();
          SmallVector<Value> next;
          for (int64_t j = 0; j < kCounts; ++j) {
            Value l = a[2 * j], len = a[2 * j + 1];
            Value active = h.cmpI(P::sgt, len, c32(0));
            Value half = shr(len, 1);
            Value mid = h.sel(active, h.add(l, half), c32(0));
            Value at = h.toIdx(mid);
            Value tm = h.load(tagsS, {at});
            Value tagBelow = h.cmpI(P::slt, tm, t);
            Value below = tagBelow;
            if (!sums) {
              Value um = h.load(valsS, {at});
              below = h.orI(h.cmpF(FP::OLT, um, v),
                            h.andI(h.cmpF(FP::OEQ, um, v), tagBelow));
            }
            Value right = h.andI(active, below);
            next.push_back(h.sel(right, h.add(mid, c32(1)), l));
            next.push_back(h.sel(right, h.sub(h.sub(len, half), c32(1)),
                                 h.sel(active, half, len)));
          }
          scf::YieldOp::create(b, next);
        }
        // n[d]: entries of child d before this one in the merged node.
        SmallVector<Value> n;
        for (int64_t d = 0; d < kArity; ++d) {
          Value dv = c32(d), cnt = i;
          for (int64_t j = 0; j < kCounts; ++j)
            cnt = h.sel(h.cmpI(P::eq, sib[j], dv),
                        h.sub(loop.getResult(2 * j), los[j]), cnt);
          n.push_back(cnt);
        }
        Value dest = nodeStart;
        for (Value x : n)
          dest = h.add(dest, x);
        SmallVector<Value> res = {dest, t, v};
        // Inclusive counts of children 0..d-1 at dest, d = 1..A-1.
        Value acc = c32(0);
        for (int64_t d = 0; d < kCounts; ++d) {
          Value own = h.cmpI(P::eq, c, c32(d));
          acc = h.add(acc, h.sel(own, h.add(n[d], c32(1)), n[d]));
          res.push_back(acc);
        }
        if (sums) {
          // Child d's inclusive sum up to this entry (own child) or before
          // it (the others), added in the forall round's order.
          Value facc = detail::constF64(b, 0);
          for (int64_t d = 0; d < kArity; ++d) {
            Value isOwn = h.cmpI(P::eq, c, c32(d));
            Value empty = h.cmpI(P::eq, n[d], c32(0));
            Value at = h.maxI(h.sub(h.add(childStart(c32(d)), n[d]), c32(1)),
                              c32(0));
            Value other = h.sel(empty, detail::constF64(b, 0),
                                h.load(valsS, {h.toIdx(at)}));
            facc = arith::AddFOp::create(b, facc, h.sel(isOwn, v, other));
            if (d < kCounts)
              res.push_back(facc);
          }
          res[2] = facc; // the node's inclusive sum up to this entry
        }
        scf::YieldOp::create(b, res);
      }
      gpu::BarrierOp::create(b);
      // B: the level in place, and its counts (sums) by destination.
      h.ifThen(valid, [&] {
        Value dest = h.toIdx(place.getResult(0));
        store(place.getResult(1), tagsS, {dest});
        store(place.getResult(2), valsS, {dest});
        Value base = h.mul(dest, h.idx(kCounts));
        for (int64_t d = 0; d < kCounts; ++d) {
          store(place.getResult(3 + d), zbS, {h.add(base, h.idx(d))});
          if (sums)
            store(place.getResult(3 + kCounts + d), fzS,
                  {h.add(base, h.idx(d))});
        }
      });
      gpu::BarrierOp::create(b);
      // C: the counts (sums) to global memory in position order: threads
      // store consecutive elements (coalesced; a store per entry and count
      // at its scattered destination costs an L2 sector each). The next
      // level's writes of zbS / fzS come after its first barrier.
      Value lvl = h.idx(s - 1), used = h.mul(mLoc, h.idx(kCounts));
      for (int64_t r = 0; r < kCounts; ++r) {
        Value e = h.add(q, h.idx(r * kTile));
        h.ifThen(h.cmpI(P::ult, e, used), [&] {
          Value pos = h.add(start, h.divu(e, h.idx(kCounts)));
          Value d = h.remu(e, h.idx(kCounts));
          store(h.load(zbS, {e}), zb, {lvl, bi, hi, pos, d});
          if (sums)
            store(h.load(fzS, {e}), fz, {lvl, bi, hi, pos, d});
        });
      }
    }
    h.ifThen(valid, [&] {
      Value g = h.add(start, q);
      store(h.load(tagsS, {q}), tagsOut, {bi, hi, g});
      store(h.load(valsS, {q}), valsOut, {bi, hi, g});
    });
  });
  gpu::TerminatorOp::create(b);
}

} // namespace mlir::sparsek::gpu_kernels
