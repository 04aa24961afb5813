//===- Emitters.h - building blocks of sparsek's GPU kernels ----*- C++ -*-===//
//
// The pieces the tensor-core kernels are assembled from, each an op builder
// over gpu/nvgpu/nvvm/vector/memref/arith (nothing hand-written below MLIR):
//
// - MmaEmitter (MmaEmitter.cpp): the warp-level matrix multiply step,
//   mma.sync m16n8k16 with f16 or bf16 inputs and f32 accumulators, its
//   operand fragments (ldmatrix from swizzled shared memory, pairs of
//   elements from registers) and the accumulator layout. One class, so a
//   wgmma version can replace it behind the same calls.
// - CopyEmitter (CopyEmitter.cpp): 16-byte cp.async row gathers from global
//   memory into swizzled shared tiles, with zero fill, commit and wait.
// - Flat views and small scalar helpers.
//
// Fragment layouts (PTX ISA, m16n8k16, .row.col; g = lane / 4, t = lane % 4):
//   A: a0 = A[g][2t, 2t+1], a1 = A[g+8][2t..], a2 = A[g][2t+8..],
//      a3 = A[g+8][2t+8..];  B: b0 = B[k = 2t, 2t+1][n = g], b1 = B[2t+8..][g];
//   C/D: (c0, c1) = row g, cols 2t, 2t+1; (c2, c3) = row g + 8.
//
// Shared tiles are [rows][cols] of 16-bit elements in 16-byte chunks; chunk
// c of row r is stored at chunk c ^ (r % 8) (rows of 8 or more chunks), so
// the 8 row addresses of one ldmatrix phase and the 8 chunks of one cp.async
// phase hit 8 different bank groups.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_LIB_CONVERSION_SPARSEKTOGPU_EMITTERS_H
#define SPARSEK_LIB_CONVERSION_SPARSEKTOGPU_EMITTERS_H

#include "../SparseKToLinalg/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <array>

namespace mlir::sparsek::gpu_kernels {

/// Index and scalar constants: the linalg lowering's.
using detail::constF32;
using detail::constI32;
using detail::constIndex;

/// A memref of any strided layout as a 1-D view with unit stride over its
/// whole buffer (the same base and offset), and its strides: element
/// (i0, i1, ..., c) of the source is element i0*s0 + i1*s1 + ... + c of the
/// view when the innermost stride is 1 (which the caller guarantees).
struct FlatView {
  Value view;
  SmallVector<Value> strides;
  /// sum(idx[k] * strides[k]) over the given leading indices.
  Value linear(ImplicitLocOpBuilder &b, ValueRange idx) const;
};
FlatView flatten(ImplicitLocOpBuilder &b, Value memref);

/// The physical column (in elements) of logical (row, chunk) of a swizzled
/// tile whose rows hold `chunksPerRow` 16-byte chunks of 8 elements.
Value swizzledCol(ImplicitLocOpBuilder &b, Value row, Value chunk,
                  int64_t chunksPerRow);

/// Index and scalar arithmetic of the kernels' bodies, as short calls on
/// one builder (the kernels' code reads as the arithmetic it builds).
struct ScalarOps {
  ImplicitLocOpBuilder &b;
  Value idx(int64_t v) { return constIndex(b, v); }
  Value add(Value x, Value y);
  Value sub(Value x, Value y);
  Value mul(Value x, Value y);
  Value divu(Value x, Value y);
  Value remu(Value x, Value y);
  Value minI(Value x, Value y);
  Value maxI(Value x, Value y);
  Value cmpI(arith::CmpIPredicate p, Value x, Value y);
  Value cmpF(arith::CmpFPredicate p, Value x, Value y);
  Value sel(Value c, Value x, Value y);
  Value andI(Value x, Value y);
  Value orI(Value x, Value y);
  Value toI32(Value x);
  Value toIdx(Value x);
  Value load(Value m, ValueRange i);
  /// `body` under `cond` (an scf.if without results).
  void ifThen(Value cond, function_ref<void()> body);
};

/// Warp-level mma.sync m16n8k16 for one 16-bit input type (f16 or bf16),
/// f32 accumulators. Operands are in the type nvvm.mma.sync wants: i32
/// pairs for bf16, vector<2xf16> for f16.
class MmaEmitter {
public:
  MmaEmitter(ImplicitLocOpBuilder &b, Type elem) : b(b), elem(elem) {}
  using Acc = std::array<Value, 4>;
  using AFrag = std::array<Value, 4>;
  using BFrag = std::array<Value, 2>;

  /// acc + A B.
  Acc mma(const AFrag &a, const BFrag &bf, const Acc &acc);
  Acc zeroAcc();
  /// Two adjacent elements of a row-major operand in global memory (a
  /// vector<2xT> load from a flat view at `index`), as one operand register.
  Value loadPair(Value flatView, Value index);
  /// Two f32 values as one operand register (rounded to the input type).
  Value packPair(Value lo, Value hi);
  /// The A operand of a 16-column k-step from the accumulators of its two
  /// 8-column n-tiles (C's fragment layout is A's: a softmax's P, or dS,
  /// stays in registers), rounded to the input type.
  AFrag packA(const Acc &lo, const Acc &hi);
  /// ldmatrix .x4 (transposed or not) from a shared tile at [idx...]: four
  /// operand registers.
  std::array<Value, 4> ldmatrixX4(Value tile, ValueRange idx, bool transpose);

private:
  Value toOperand(Value pair); // vector<2xT> -> operand register
  ImplicitLocOpBuilder &b;
  Type elem;
};

/// Warpgroup-level wgmma.mma_async (sm_90a) m64nNk16 for one 16-bit input
/// type, f32 accumulators, both operands in shared memory as 128-byte
/// swizzled tiles: rows of 128 bytes (64 elements), 16-byte chunk c of row
/// r stored at chunk c ^ (r % 8), atoms of 8 rows 1024-byte aligned, wider
/// operands as planes of 64 columns. A thread's accumulators are those of
/// mma.sync's C layout for its warp's 16 rows (warp w of the group holds
/// rows 16 w .. 16 w + 15), n8 tile by n8 tile.
class WgmmaEmitter {
public:
  WgmmaEmitter(ImplicitLocOpBuilder &b, Type elem) : b(b), elem(elem) {}
  using Acc = MmaEmitter::Acc;
  /// The descriptor (i64) of a swizzled tile at shared byte address
  /// `addr` (i64, its atoms 1024-aligned); both strides 1024 bytes, so
  /// that an operand of one plane reads its 8-row groups 1024 bytes apart
  /// whichever of the two fields the layout takes them from.
  Value descriptor(Value addr);
  /// `desc` moved by `bytes` (a multiple of 16).
  Value advance(Value desc, int64_t bytes);
  /// D (n / 8 n8 tiles) = A B + D, or A B with `zero`: A is K-major (rows
  /// by k), B K-major (`bMajorK`: n rows by k, as K for Q K^T) or MN-major
  /// (k rows by n, as V for P V). The accumulators travel as an LLVM
  /// struct between fence and wait.
  Value mma(Value acc, Value descA, Value descB, int64_t n, bool zero,
            bool bMajorK);
  /// D (64 columns) = A B + D with A (16 x 16 per warp, mma.sync's A
  /// fragment: four 32-bit registers) in registers and B MN-major (k
  /// rows by n) in shared memory: wgmma's register-A form, which LLVM 22's
  /// op lacks, as one inline wgmma instruction (the accumulators tied
  /// in and out, as for the op).
  Value mmaRegA(Value acc, ArrayRef<Value> a, Value descB);
  Value pack(ArrayRef<Acc> acc);
  Value undefAcc(int64_t n);
  SmallVector<Acc> unpack(Value acc, int64_t n);
  void fence();
  void commit();
  void wait(int64_t pending);
  /// fence.proxy.async.shared::cta: this thread's shared-memory writes
  /// (stores, cp.async) ordered before wgmma's reads, which go through
  /// the async proxy (SASS: MEMBAR.ALL.CTA + FENCE.VIEW.ASYNC.S).
  void fenceSharedWrites();

private:
  ImplicitLocOpBuilder &b;
  Type elem;
};

/// cp.async of 16 bytes (8 elements of a 16-bit type) from `src[srcIndex]`
/// (a flat view) to `tile[dstIdx...]`, zero-filling when `valid` is false
/// (then `src[srcIndex]` must still be an in-bounds address: pass a safe
/// index).
void asyncCopy16(ImplicitLocOpBuilder &b, Value tile, ValueRange dstIdx,
                 Value src, Value srcIndex, Value valid, int64_t elems = 8);
/// Closes the copies issued since the last call into one group (its token).
Value asyncCommit(ImplicitLocOpBuilder &b);
/// Waits until at most `pending` groups are still in flight (`group`: the
/// token of the last commit, for ordering only).
void asyncWait(ImplicitLocOpBuilder &b, Value group, int32_t pending);

/// f32 max and min as single instructions (llvm.maxnum / llvm.minnum:
/// PTX max.f32 / min.f32, which return the other operand for a NaN);
/// arith's maxnumf would be expanded by arith-expand into compares and
/// selects.
Value fastMaxF(ImplicitLocOpBuilder &b, Value x, Value y);
Value fastMinF(ImplicitLocOpBuilder &b, Value x, Value y);
/// log2(e): a natural-units exponent times it is fastExp2's argument.
constexpr double kLog2e = 1.4426950408889634;
/// 2^x by ex2.approx.ftz.f32 (one MUFU; denormal results flush to 0, which
/// softmax weights below 2^-126 of the row's maximum can afford).
Value fastExp2(ImplicitLocOpBuilder &b, Value x);

/// Lane `lane ^ offset`'s `v` (a full-warp gpu.shuffle xor).
Value shuffleXor(ImplicitLocOpBuilder &b, Value v, int32_t offset);
/// Lane `lane`'s `v`, for every lane of the warp.
Value shuffleIdx(ImplicitLocOpBuilder &b, Value v, int32_t lane);

/// Declares, once per module, the private workgroup (shared memory)
/// global `name` of `type` with `alignment` bytes (kernel outlining copies
/// it into each kernel's module; get it with memref.get_global).
void declareWorkgroupGlobal(ModuleOp module, Location loc, StringRef name,
                            MemRefType type, int64_t alignment);

/// Butterfly reductions across the 4 lanes of a quad (xor 1, 2).
Value quadReduce(ImplicitLocOpBuilder &b, Value v,
                 function_ref<Value(Value, Value)> combine);
Value quadMax(ImplicitLocOpBuilder &b, Value v);
Value quadSum(ImplicitLocOpBuilder &b, Value v);

} // namespace mlir::sparsek::gpu_kernels

#endif // SPARSEK_LIB_CONVERSION_SPARSEKTOGPU_EMITTERS_H
