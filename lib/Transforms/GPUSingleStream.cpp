//===- GPUSingleStream.cpp - one stream per host function call ------------===//
//
// sparsek-gpu-single-stream (Passes.td): the host code's per-region streams
// become one per function call; region synchronizations are kept only
// after device-to-host-visible copies, and before each return.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringSwitch.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKGPUSINGLESTREAMPASS
#include "sparsek/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;

namespace {

/// The stream operand of an mgpu* runtime call (the ABI of
/// include/sparsek-c/CudaRuntime.h), or -1 when it takes none.
int streamOperand(StringRef callee) {
  return llvm::StringSwitch<int>(callee)
      .Case("mgpuStreamSynchronize", 0)
      .Case("mgpuStreamDestroy", 0)
      .Case("mgpuStreamWaitEvent", 0)
      .Case("mgpuEventRecord", 1)
      .Case("mgpuMemAlloc", 1)
      .Case("mgpuMemFree", 1)
      .Case("mgpuMemcpy", 3)
      .Case("mgpuMemset32", 3)
      .Case("mgpuMemset16", 3)
      .Default(-1);
}

StringRef calleeOf(LLVM::CallOp call) {
  if (auto callee = call.getCallee())
    return *callee;
  return {};
}

/// Whether a synchronization must stay: some copy since the previous
/// launch in its block may be read by the host afterwards.
bool followsCopy(LLVM::CallOp sync) {
  for (Operation *op = sync->getPrevNode(); op; op = op->getPrevNode()) {
    if (isa<gpu::LaunchFuncOp>(op))
      return false;
    if (auto call = dyn_cast<LLVM::CallOp>(op))
      if (calleeOf(call) == "mgpuMemcpy")
        return true;
  }
  return false;
}

/// `syncFn`, `destroyFn`: the module's mgpuStreamSynchronize and
/// mgpuStreamDestroy.
void singleStream(LLVM::LLVMFuncOp fn, LLVM::LLVMFuncOp syncFn,
                  LLVM::LLVMFuncOp destroyFn) {
  SmallVector<LLVM::CallOp> creates;
  fn.walk([&](LLVM::CallOp call) {
    if (calleeOf(call) == "mgpuStreamCreate")
      creates.push_back(call);
  });
  if (creates.empty() || fn.getBody().empty())
    return;
  llvm::SmallPtrSet<Value, 8> streams;
  for (LLVM::CallOp c : creates)
    streams.insert(c.getResult());
  // Every stream operand must be one of the created streams.
  bool ok = true;
  fn.walk([&](Operation *op) {
    if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
      if (!launch.getAsyncObject() ||
          !streams.contains(launch.getAsyncObject()))
        ok = false;
    } else if (auto call = dyn_cast<LLVM::CallOp>(op)) {
      int i = streamOperand(calleeOf(call));
      if (i >= 0 && (static_cast<unsigned>(i) >= call.getArgOperands().size() ||
                     !streams.contains(call.getArgOperands()[i])))
        ok = false;
    }
  });
  if (!ok)
    return;

  LLVM::CallOp first = creates.front();
  OpBuilder b(fn.getContext());
  b.setInsertionPointToStart(&fn.getBody().front());
  auto stream = cast<LLVM::CallOp>(b.clone(*first.getOperation()));
  Value s = stream.getResult();
  SmallVector<LLVM::CallOp> syncs, destroys;
  fn.walk([&](LLVM::CallOp call) {
    StringRef callee = calleeOf(call);
    if (callee == "mgpuStreamSynchronize")
      syncs.push_back(call);
    else if (callee == "mgpuStreamDestroy")
      destroys.push_back(call);
  });
  for (LLVM::CallOp c : creates) {
    c.getResult().replaceAllUsesWith(s);
    c.erase();
  }
  for (LLVM::CallOp d : destroys)
    d.erase();
  for (LLVM::CallOp sync : syncs)
    if (!followsCopy(sync))
      sync.erase();
  // Before each return: the call's work is done, the stream goes back.
  fn.walk([&](LLVM::ReturnOp ret) {
    b.setInsertionPoint(ret);
    LLVM::CallOp::create(b, ret.getLoc(), syncFn, ValueRange{s});
    LLVM::CallOp::create(b, ret.getLoc(), destroyFn, ValueRange{s});
  });
}

struct SparseKGPUSingleStreamPass
    : sparsek::impl::SparseKGPUSingleStreamPassBase<
          SparseKGPUSingleStreamPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The runtime functions must be declared (they are wherever a stream
    // was created, synchronized and destroyed).
    auto syncFn =
        module.lookupSymbol<LLVM::LLVMFuncOp>("mgpuStreamSynchronize");
    auto destroyFn = module.lookupSymbol<LLVM::LLVMFuncOp>("mgpuStreamDestroy");
    if (!syncFn || !destroyFn)
      return;
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      singleStream(fn, syncFn, destroyFn);
  }
};

} // namespace
