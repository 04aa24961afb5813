//===- CopyEmitter.cpp - cp.async gathers into shared tiles ---------------===//
//
// See Emitters.h.
//
//===----------------------------------------------------------------------===//

#include "Emitters.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

namespace mlir::sparsek::gpu_kernels {

void asyncCopy16(ImplicitLocOpBuilder &b, Value tile, ValueRange dstIdx,
                 Value src, Value srcIndex, Value valid, int64_t elems) {
  // cp.async.cg (L1 bypass), 16 bytes (`elems` elements); src-size 0
  // zero-fills the row.
  Value srcElems = arith::SelectOp::create(b, valid, constIndex(b, elems),
                                           constIndex(b, 0));
  nvgpu::DeviceAsyncCopyOp::create(
      b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tile, dstIdx, src,
      ValueRange{srcIndex}, b.getIndexAttr(elems), srcElems, b.getUnitAttr());
}

Value asyncCommit(ImplicitLocOpBuilder &b) {
  // A group of every copy issued since the last commit (possibly none: an
  // empty group keeps the wait counts uniform across iterations).
  return nvgpu::DeviceAsyncCreateGroupOp::create(
      b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), ValueRange{});
}

void asyncWait(ImplicitLocOpBuilder &b, Value group, int32_t pending) {
  nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(pending));
}

} // namespace mlir::sparsek::gpu_kernels
