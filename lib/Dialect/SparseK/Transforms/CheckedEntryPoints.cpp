//===- CheckedEntryPoints.cpp - shape-checked wrappers ----------*- C++ -*-===//
//
// @NAME(static args) => @NAME_checked(dynamic args) -> i32 (Passes.td).
//
//===----------------------------------------------------------------------===//

#include "sparsek/Dialect/SparseK/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKCHECKEDENTRYPOINTSPASS
#include "sparsek/Dialect/SparseK/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;

namespace {

/// The same shaped type with every dimension dynamic.
Type dynamicType(Type t) {
  auto shaped = cast<ShapedType>(t);
  SmallVector<int64_t> shape(shaped.getRank(), ShapedType::kDynamic);
  if (isa<RankedTensorType>(t))
    return RankedTensorType::get(shape, shaped.getElementType());
  return MemRefType::get(shape, shaped.getElementType());
}

bool eligible(func::FuncOp f) {
  if (f.isPrivate() || f.isExternal() || f.getNumResults() != 0)
    return false;
  return llvm::all_of(f.getArgumentTypes(), [](Type t) {
    if (auto m = dyn_cast<MemRefType>(t))
      return m.getLayout().isIdentity();
    return isa<RankedTensorType>(t);
  });
}

void addWrapper(func::FuncOp f, SymbolTable &symbols) {
  ImplicitLocOpBuilder b(f.getLoc(), f);
  b.setInsertionPointAfter(f);
  SmallVector<Type> argTypes;
  for (Type t : f.getArgumentTypes())
    argTypes.push_back(dynamicType(t));
  auto wrapper = func::FuncOp::create(
      b, (f.getName() + "_checked").str(),
      b.getFunctionType(argTypes, {b.getI32Type()}));
  wrapper->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  symbols.insert(wrapper);
  Block *entry = wrapper.addEntryBlock();
  b.setInsertionPointToStart(entry);

  // Every static size of @NAME's arguments must match.
  Value ok = arith::ConstantIntOp::create(b, 1, 1);
  for (auto [arg, type] : llvm::zip(entry->getArguments(),
                                    f.getArgumentTypes())) {
    auto shaped = cast<ShapedType>(type);
    for (int64_t d = 0; d < shaped.getRank(); ++d) {
      if (shaped.isDynamicDim(d))
        continue;
      Value size = isa<RankedTensorType>(type)
                       ? tensor::DimOp::create(b, arg, d).getResult()
                       : memref::DimOp::create(b, arg, d).getResult();
      Value eq = arith::CmpIOp::create(
          b, arith::CmpIPredicate::eq, size,
          arith::ConstantIndexOp::create(b, shaped.getDimSize(d)));
      ok = arith::AndIOp::create(b, ok, eq);
    }
  }
  auto ifOp = scf::IfOp::create(b, b.getI32Type(), ok, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    SmallVector<Value> args;
    for (auto [arg, type] : llvm::zip(entry->getArguments(),
                                      f.getArgumentTypes())) {
      if (isa<RankedTensorType>(type))
        args.push_back(tensor::CastOp::create(b, type, arg));
      else
        args.push_back(memref::CastOp::create(b, type, arg));
    }
    func::CallOp::create(b, f, args);
    scf::YieldOp::create(b, ValueRange{arith::ConstantIntOp::create(b, 0, 32)});
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, ValueRange{arith::ConstantIntOp::create(b, 1, 32)});
  }
  func::ReturnOp::create(b, ifOp.getResults());
}

struct SparseKCheckedEntryPointsPass
    : sparsek::impl::SparseKCheckedEntryPointsPassBase<
          SparseKCheckedEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> targets;
    for (auto f : module.getOps<func::FuncOp>())
      if (eligible(f) && !symbols.lookup((f.getName() + "_checked").str()))
        targets.push_back(f);
    for (func::FuncOp f : targets)
      addWrapper(f, symbols);
  }
};

} // namespace
