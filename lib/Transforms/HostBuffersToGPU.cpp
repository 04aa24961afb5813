//===- HostBuffersToGPU.cpp - host-level buffers on the GPU -----*- C++ -*-===//
//
// memref.alloc/dealloc/copy at host level => gpu.alloc/dealloc/memcpy
// (Passes.td). gpu.memcpy moves one contiguous run of bytes from each
// operand's aligned pointer (its lowering reads neither offsets nor
// strides), so a copy between views that may not be contiguous row-major
// from offset 0 checks that at run time and otherwise stays a memref.copy
// (a copy kernel, sparsek-expand-memref-copy). A linalg.fill of a 16- or
// 32-bit element type becomes a gpu.memset (cuMemsetD16/D32: near the copy
// bandwidth, where the fill's kernel stores one element per thread), under
// the same run-time check for views.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Transforms/Passes.h"
#include "sparsek/Transforms/Layout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKHOSTBUFFERSTOGPUPASS
#include "sparsek/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;

namespace {

/// Inside a parallel body the op belongs to a kernel.
bool inKernel(Operation *op) {
  return op->getParentOfType<scf::ForallOp>() ||
         op->getParentOfType<scf::ParallelOp>() ||
         op->getParentOfType<gpu::LaunchOp>() ||
         op->getParentOfType<gpu::GPUModuleOp>();
}

/// Whether `t`'s layout is the identity: contiguous row-major, offset 0.
bool isPlain(Type t) {
  auto m = dyn_cast<MemRefType>(t);
  return m && m.getLayout().isIdentity();
}

/// The identity-layout type of `t`'s shape and element type.
MemRefType plainType(Type t) {
  auto m = cast<MemRefType>(t);
  return MemRefType::get(m.getShape(), m.getElementType(), MemRefLayoutAttrInterface(),
                         m.getMemorySpace());
}

/// Whether `fill` sets a buffer to one 16- or 32-bit value (what
/// gpu.memset lowers to: cuMemsetD16Async / cuMemsetD32Async).
bool memsetFill(linalg::FillOp fill) {
  if (!fill.hasPureBufferSemantics() || fill.getOutputs().size() != 1)
    return false;
  auto m = dyn_cast<MemRefType>(fill.getOutputs()[0].getType());
  if (!m)
    return false;
  Type e = m.getElementType();
  return e.isIntOrFloat() && (e.getIntOrFloatBitWidth() == 16 ||
                              e.getIntOrFloatBitWidth() == 32);
}

/// Replaces `op` by `fast` when every one of `views` is plain (contiguous
/// row-major from offset 0): directly when their types say so, else under
/// an scf.if on the run-time check, with `op` kept in the else branch.
/// `fast` gets the views as plain-typed values (memref.cast).
void whenPlain(IRRewriter &rewriter, Operation *op, ArrayRef<Value> views,
               function_ref<void(ArrayRef<Value>)> fast) {
  Location loc = op->getLoc();
  if (llvm::all_of(views, [](Value v) { return isPlain(v.getType()); })) {
    fast(views);
    rewriter.eraseOp(op);
    return;
  }
  Value plain = arith::ConstantIntOp::create(rewriter, loc, 1, 1);
  for (Value v : views)
    if (!isPlain(v.getType()))
      plain = arith::AndIOp::create(
          rewriter, loc, plain, sparsek::isRowMajorAtRunTime(rewriter, loc, v));
  auto ifOp = scf::IfOp::create(rewriter, loc, plain, /*withElseRegion=*/true);
  rewriter.setInsertionPointToStart(ifOp.thenBlock());
  SmallVector<Value> plainViews;
  for (Value v : views)
    plainViews.push_back(
        isPlain(v.getType())
            ? v
            : memref::CastOp::create(rewriter, loc, plainType(v.getType()), v)
                  .getResult());
  fast(plainViews);
  rewriter.moveOpBefore(op, ifOp.elseBlock()->getTerminator());
}

struct SparseKHostBuffersToGPUPass
    : sparsek::impl::SparseKHostBuffersToGPUPassBase<
          SparseKHostBuffersToGPUPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::DeallocOp, memref::CopyOp>(op) &&
          !inKernel(op))
        ops.push_back(op);
      if (auto fill = dyn_cast<linalg::FillOp>(op))
        if (memsetFill(fill) && !inKernel(op))
          ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      rewriter.setInsertionPoint(op);
      Location loc = op->getLoc();
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        auto g = gpu::AllocOp::create(
            rewriter, loc, alloc.getType(), /*asyncToken=*/Type(),
            /*asyncDependencies=*/ValueRange(), alloc.getDynamicSizes(),
            alloc.getSymbolOperands(), /*hostShared=*/false);
        rewriter.replaceOp(op, g.getMemref());
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        gpu::DeallocOp::create(rewriter, loc, /*asyncToken=*/Type(),
                               ValueRange(), dealloc.getMemref());
        rewriter.eraseOp(op);
      } else if (auto fill = dyn_cast<linalg::FillOp>(op)) {
        // A view: the memset when it is plain at run time, else the fill
        // (its kernel follows the strides).
        Value value = fill.getInputs()[0];
        whenPlain(rewriter, op, {fill.getOutputs()[0]},
                  [&](ArrayRef<Value> v) {
                    gpu::MemsetOp::create(rewriter, loc, /*asyncToken=*/Type(),
                                          ValueRange(), v[0], value);
                  });
      } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        // Views: gpu.memcpy when both are plain at run time, else the
        // memref.copy stays (a kernel that follows the strides).
        whenPlain(rewriter, op, {copy.getSource(), copy.getTarget()},
                  [&](ArrayRef<Value> v) {
                    gpu::MemcpyOp::create(rewriter, loc, /*asyncToken=*/Type(),
                                          ValueRange(), v[1], v[0]);
                  });
      }
    }
  }
};

} // namespace
