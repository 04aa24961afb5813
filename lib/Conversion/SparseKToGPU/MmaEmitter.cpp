//===- MmaEmitter.cpp - mma.sync, its fragments and flat views ------------===//
//
// See Emitters.h.
//
//===----------------------------------------------------------------------===//

#include "Emitters.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::sparsek::gpu_kernels {

Value FlatView::linear(ImplicitLocOpBuilder &b, ValueRange idx) const {
  Value sum;
  for (auto [i, v] : llvm::enumerate(idx)) {
    Value term = arith::MulIOp::create(b, v, strides[i]);
    sum = sum ? arith::AddIOp::create(b, sum, term).getResult() : term;
  }
  return sum ? sum : constIndex(b, 0);
}

FlatView flatten(ImplicitLocOpBuilder &b, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  auto md = memref::ExtractStridedMetadataOp::create(b, memref);
  // The view spans the elements the source can address.
  Value extent = constIndex(b, 1);
  for (auto [size, stride] : llvm::zip(md.getSizes(), md.getStrides()))
    extent = arith::AddIOp::create(
        b, extent,
        arith::MulIOp::create(
            b, arith::MaxSIOp::create(
                   b, arith::SubIOp::create(b, size, constIndex(b, 1)), constIndex(b, 0)),
            stride));
  int64_t dyn = ShapedType::kDynamic;
  auto viewType = MemRefType::get(
      {dyn}, type.getElementType(),
      StridedLayoutAttr::get(b.getContext(), dyn, {1}),
      type.getMemorySpace());
  Value view = memref::ReinterpretCastOp::create(
      b, viewType, md.getBaseBuffer(), OpFoldResult(md.getOffset()),
      ArrayRef<OpFoldResult>{OpFoldResult(extent)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  return {view, SmallVector<Value>(md.getStrides())};
}

Value swizzledCol(ImplicitLocOpBuilder &b, Value row, Value chunk,
                  int64_t chunksPerRow) {
  Value phys = chunk;
  if (chunksPerRow >= 8)
    phys = arith::XOrIOp::create(
        b, chunk, arith::RemUIOp::create(b, row, constIndex(b, 8)));
  return arith::MulIOp::create(b, phys, constIndex(b, 8));
}

Value MmaEmitter::toOperand(Value pair) {
  if (elem.isBF16()) {
    Value asI32 = vector::BitCastOp::create(
        b, VectorType::get({1}, b.getI32Type()), pair);
    return vector::ExtractOp::create(b, asI32, ArrayRef<int64_t>{0});
  }
  return pair; // f16: vector<2xf16>
}

MmaEmitter::Acc MmaEmitter::zeroAcc() {
  Value z = constF32(b, 0.0);
  return {z, z, z, z};
}

MmaEmitter::Acc MmaEmitter::mma(const AFrag &a, const BFrag &bf,
                                const Acc &acc) {
  Type f32 = b.getF32Type();
  auto resType = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                  {f32, f32, f32, f32});
  NVVM::MMATypes t =
      elem.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  Value d = NVVM::MmaOp::create(
      b, resType, ValueRange(a), ValueRange(bf), ValueRange(acc),
      ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{t, t},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  Acc out;
  for (int64_t i = 0; i < 4; ++i)
    out[i] = LLVM::ExtractValueOp::create(b, d, ArrayRef<int64_t>{i});
  return out;
}

Value MmaEmitter::loadPair(Value flatView, Value index) {
  auto vt = VectorType::get({2}, elem);
  auto load = vector::LoadOp::create(b, vt, flatView, ValueRange{index});
  load.setAlignment(4);
  return toOperand(load);
}

Value MmaEmitter::packPair(Value lo, Value hi) {
  Value f = vector::FromElementsOp::create(
      b, VectorType::get({2}, b.getF32Type()), ValueRange{lo, hi});
  // llvm.fptrunc, not arith.truncf: arith-expand would turn a bf16
  // truncation into integer rounding code; this is one cvt.rn.bf16x2.f32
  // (cvt.rn.f16x2.f32) for the pair.
  Value h = LLVM::FPTruncOp::create(b, VectorType::get({2}, elem), f);
  return toOperand(h);
}

MmaEmitter::AFrag MmaEmitter::packA(const Acc &lo, const Acc &hi) {
  return {packPair(lo[0], lo[1]), packPair(lo[2], lo[3]),
          packPair(hi[0], hi[1]), packPair(hi[2], hi[3])};
}

std::array<Value, 4> MmaEmitter::ldmatrixX4(Value tile, ValueRange idx,
                                            bool transpose) {
  auto vt = VectorType::get({4, 2}, elem);
  Value m = nvgpu::LdMatrixOp::create(b, vt, tile, idx,
                                      b.getBoolAttr(transpose),
                                      b.getI32IntegerAttr(4));
  std::array<Value, 4> regs;
  for (int64_t i = 0; i < 4; ++i)
    regs[i] = toOperand(vector::ExtractOp::create(b, m, ArrayRef<int64_t>{i}));
  return regs;
}

static Type accStructType(MLIRContext *ctx, int64_t n) {
  return LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(n / 2, Float32Type::get(ctx)));
}

Value WgmmaEmitter::descriptor(Value addr) {
  // Bits 0-13: address / 16 (18-bit shared addresses); 16-29: leading
  // byte offset / 16; 32-45: stride byte offset / 16; 62-63: swizzle mode
  // (1: 128 bytes).
  auto i64 = b.getI64Type();
  auto c = [&](uint64_t v) {
    return arith::ConstantIntOp::create(b, i64, static_cast<int64_t>(v));
  };
  Value lo = arith::ShRUIOp::create(
      b, arith::AndIOp::create(b, addr, c(0x3FFFF)), c(4));
  uint64_t fields = (uint64_t(1024 >> 4) << 16) | (uint64_t(1024 >> 4) << 32) |
                    (uint64_t(1) << 62);
  return arith::OrIOp::create(b, lo, c(fields));
}

Value WgmmaEmitter::advance(Value desc, int64_t bytes) {
  if (bytes == 0)
    return desc;
  return arith::AddIOp::create(
      b, desc, arith::ConstantIntOp::create(b, b.getI64Type(), bytes >> 4));
}

Value WgmmaEmitter::mma(Value acc, Value descA, Value descB, int64_t n,
                        bool zero, bool bMajorK) {
  MLIRContext *ctx = b.getContext();
  auto t = elem.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  return NVVM::WgmmaMmaAsyncOp::create(
      b, accStructType(ctx, n), acc, descA, descB,
      NVVM::MMAShapeAttr::get(ctx, 64, n, 16), t, t, NVVM::WGMMATypes::f32,
      zero ? NVVM::WGMMAScaleOut::zero : NVVM::WGMMAScaleOut::one,
      NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
      bMajorK ? NVVM::MMALayout::col : NVVM::MMALayout::row,
      NVVM::MMAIntOverflowAttr());
}

Value WgmmaEmitter::mmaRegA(Value acc, ArrayRef<Value> a, Value descB) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  // Outputs $0..$31 (the accumulators), inputs: A's four registers
  // ($32..$35), B's descriptor ($36), scale-d ($37), then the
  // accumulators' values in, tied to the outputs.
  std::string text = "{\n.reg .pred p;\nsetp.ne.b32 p, $37, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n64k16.f32.";
  std::string t = elem.isBF16() ? "bf16" : "f16";
  text += t + "." + t + " {";
  std::string constraints;
  for (int i = 0; i < 32; ++i) {
    text += (i ? ", $" : "$") + std::to_string(i);
    constraints += (i ? ",=f" : "=f");
  }
  text += "}, {$32, $33, $34, $35}, $36, p, 1, 1, 1;\n}";
  constraints += ",r,r,r,r,l,r";
  SmallVector<Value> operands;
  for (Value v : a)
    operands.push_back(v.getType() == i32
                           ? v
                           : LLVM::BitcastOp::create(b, i32, v).getResult());
  operands.push_back(descB);
  operands.push_back(LLVM::ConstantOp::create(b, i32, b.getI32IntegerAttr(1)));
  for (int i = 0; i < 32; ++i) {
    operands.push_back(
        LLVM::ExtractValueOp::create(b, acc, ArrayRef<int64_t>{i}));
    constraints += "," + std::to_string(i);
  }
  return LLVM::InlineAsmOp::create(
             b, accStructType(ctx, 64), operands, text, constraints,
             /*has_side_effects=*/true, /*is_align_stack=*/false,
             LLVM::tailcallkind::TailCallKind::None,
             LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
             ArrayAttr())
      .getResult(0);
}

Value WgmmaEmitter::pack(ArrayRef<Acc> acc) {
  int64_t n = static_cast<int64_t>(acc.size()) * 8;
  Value s = LLVM::UndefOp::create(b, accStructType(b.getContext(), n));
  for (auto [nt, a] : llvm::enumerate(acc))
    for (int64_t e = 0; e < 4; ++e)
      s = LLVM::InsertValueOp::create(b, s, a[e],
                                      ArrayRef<int64_t>{int64_t(nt) * 4 + e});
  return s;
}

Value WgmmaEmitter::undefAcc(int64_t n) {
  return LLVM::UndefOp::create(b, accStructType(b.getContext(), n));
}

SmallVector<WgmmaEmitter::Acc> WgmmaEmitter::unpack(Value acc, int64_t n) {
  SmallVector<Acc> out(n / 8);
  for (int64_t nt = 0; nt < n / 8; ++nt)
    for (int64_t e = 0; e < 4; ++e)
      out[nt][e] =
          LLVM::ExtractValueOp::create(b, acc, ArrayRef<int64_t>{nt * 4 + e});
  return out;
}

void WgmmaEmitter::fence() { NVVM::WgmmaFenceAlignedOp::create(b); }
void WgmmaEmitter::fenceSharedWrites() {
  NVVM::FenceProxyOp::create(
      b, NVVM::ProxyKindAttr::get(b.getContext(), NVVM::ProxyKind::async_shared),
      NVVM::SharedSpaceAttr::get(b.getContext(),
                                 NVVM::SharedSpace::shared_cta));
}
void WgmmaEmitter::commit() { NVVM::WgmmaGroupSyncAlignedOp::create(b); }
void WgmmaEmitter::wait(int64_t pending) {
  NVVM::WgmmaWaitGroupSyncOp::create(b, static_cast<uint64_t>(pending));
}

Value fastMaxF(ImplicitLocOpBuilder &b, Value x, Value y) {
  return LLVM::MaxNumOp::create(b, x, y);
}

Value fastMinF(ImplicitLocOpBuilder &b, Value x, Value y) {
  return LLVM::MinNumOp::create(b, x, y);
}

Value fastExp2(ImplicitLocOpBuilder &b, Value x) {
  return LLVM::CallIntrinsicOp::create(b, b.getF32Type(),
                                       b.getStringAttr("llvm.nvvm.ex2.approx.ftz"),
                                       ValueRange{x})
      .getResult(0);
}

Value shuffleXor(ImplicitLocOpBuilder &b, Value v, int32_t offset) {
  return gpu::ShuffleOp::create(b, v, offset, 32, gpu::ShuffleMode::XOR)
      .getShuffleResult();
}

Value shuffleIdx(ImplicitLocOpBuilder &b, Value v, int32_t lane) {
  return gpu::ShuffleOp::create(b, v, lane, 32, gpu::ShuffleMode::IDX)
      .getShuffleResult();
}

void declareWorkgroupGlobal(ModuleOp module, Location loc, StringRef name,
                            MemRefType type, int64_t alignment) {
  if (module.lookupSymbol(name))
    return;
  OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
  memref::GlobalOp::create(mb, loc, name, mb.getStringAttr("private"), type,
                           /*initial_value=*/Attribute(), /*constant=*/false,
                           mb.getI64IntegerAttr(alignment));
}

Value quadReduce(ImplicitLocOpBuilder &b, Value v,
                 function_ref<Value(Value, Value)> combine) {
  for (int32_t off : {1, 2})
    v = combine(v, shuffleXor(b, v, off));
  return v;
}

Value quadMax(ImplicitLocOpBuilder &b, Value v) {
  return quadReduce(b, v, [&](Value x, Value y) { return fastMaxF(b, x, y); });
}

Value quadSum(ImplicitLocOpBuilder &b, Value v) {
  return quadReduce(b, v, [&](Value x, Value y) {
    return arith::AddFOp::create(b, x, y).getResult();
  });
}

Value ScalarOps::add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
Value ScalarOps::sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
Value ScalarOps::mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
Value ScalarOps::divu(Value x, Value y) {
  return arith::DivUIOp::create(b, x, y);
}
Value ScalarOps::remu(Value x, Value y) {
  return arith::RemUIOp::create(b, x, y);
}
Value ScalarOps::minI(Value x, Value y) {
  return arith::MinSIOp::create(b, x, y);
}
Value ScalarOps::maxI(Value x, Value y) {
  return arith::MaxSIOp::create(b, x, y);
}
Value ScalarOps::cmpI(arith::CmpIPredicate p, Value x, Value y) {
  return arith::CmpIOp::create(b, p, x, y);
}
Value ScalarOps::cmpF(arith::CmpFPredicate p, Value x, Value y) {
  return arith::CmpFOp::create(b, p, x, y);
}
Value ScalarOps::sel(Value c, Value x, Value y) {
  return arith::SelectOp::create(b, c, x, y);
}
Value ScalarOps::andI(Value x, Value y) { return arith::AndIOp::create(b, x, y); }
Value ScalarOps::orI(Value x, Value y) { return arith::OrIOp::create(b, x, y); }
Value ScalarOps::toI32(Value x) {
  return arith::IndexCastOp::create(b, b.getI32Type(), x);
}
Value ScalarOps::toIdx(Value x) {
  return arith::IndexCastOp::create(b, b.getIndexType(), x);
}
Value ScalarOps::load(Value m, ValueRange i) {
  return memref::LoadOp::create(b, m, i);
}
void ScalarOps::ifThen(Value cond, function_ref<void()> body) {
  auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(op.thenBlock());
  body();
}

} // namespace mlir::sparsek::gpu_kernels
