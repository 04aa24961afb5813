//===- GPUMapForall.cpp - scf.forall to GPU blocks --------------*- C++ -*-===//
//
// Unmapped scf.forall => the same loop mapped to #gpu.block<x/y/z>
// (Passes.td).
//
//===----------------------------------------------------------------------===//

#include "sparsek/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKGPUMAPFORALLPASS
#include "sparsek/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;

namespace {

struct SparseKGPUMapForallPass
    : sparsek::impl::SparseKGPUMapForallPassBase<SparseKGPUMapForallPass> {
  void runOnOperation() override {
    static constexpr gpu::MappingId kDims[] = {
        gpu::MappingId::DimX, gpu::MappingId::DimY, gpu::MappingId::DimZ};
    getOperation()->walk([&](scf::ForallOp forall) {
      if (forall.getMapping())
        return;
      // More than three dimensions have no block dimension to go to: left
      // for the later passes to reject.
      if (forall.getRank() > 3)
        return;
      SmallVector<Attribute> mapping;
      for (int64_t d = 0; d < forall.getRank(); ++d)
        mapping.push_back(
            gpu::GPUBlockMappingAttr::get(forall.getContext(), kDims[d]));
      forall.setMappingAttr(ArrayAttr::get(forall.getContext(), mapping));
    });
  }
};

} // namespace
