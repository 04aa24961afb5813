//===- CheckedEntryPoints.cpp - shape-checked wrappers ----------*- C++ -*-===//
//
// @NAME(args) => @NAME_checked(dynamic args) -> i32 (Passes.td). The
// wrapper checks, on the run-time sizes:
//   1. every static size of @NAME's arguments;
//   2. every size rule of every sparsek op in @NAME (ShapeConstraints.h)
//      whose sizes trace back to @NAME's arguments: an operand that is an
//      argument (or a cast of one), a result written into a memref argument
//      by bufferization.materialize_in_destination;
//   3. the layout of memref arguments that @NAME takes with the identity
//      layout: offset 0 and row-major strides (other views: status 2).
// and calls @NAME only when all hold.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Dialect/SparseK/IR/ShapeConstraints.h"
#include "sparsek/Dialect/SparseK/Transforms/Passes.h"
#include "sparsek/Transforms/Layout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"

#include <optional>

namespace mlir::sparsek {
#define GEN_PASS_DEF_SPARSEKCHECKEDENTRYPOINTSPASS
#include "sparsek/Dialect/SparseK/Transforms/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;
using namespace mlir::sparsek;

namespace {

/// Status codes of NAME_checked (docs/CallingConvention.md).
constexpr int32_t kOk = 0, kBadShape = 1, kBadLayout = 2;

/// The same shaped type with every dimension dynamic; memrefs also get a
/// fully dynamic strided layout, so any view's descriptor is accepted and
/// its offset and strides can be read.
Type dynamicType(Type t) {
  auto shaped = cast<ShapedType>(t);
  SmallVector<int64_t> shape(shaped.getRank(), ShapedType::kDynamic);
  if (isa<RankedTensorType>(t))
    return RankedTensorType::get(shape, shaped.getElementType());
  SmallVector<int64_t> strides(shaped.getRank(), ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(t.getContext(), ShapedType::kDynamic,
                                       strides);
  return MemRefType::get(shape, shaped.getElementType(), layout);
}

bool eligible(func::FuncOp f) {
  if (f.isPrivate() || f.isExternal() || f.getNumResults() != 0)
    return false;
  return llvm::all_of(f.getArgumentTypes(), [](Type t) {
    if (auto m = dyn_cast<MemRefType>(t))
      return m.getLayout().isIdentity() || isa<StridedLayoutAttr>(m.getLayout());
    return isa<RankedTensorType>(t);
  });
}

/// Which argument of `f` a tensor value is, or is written into.
std::optional<unsigned> traceToArgument(func::FuncOp f, Value v) {
  // An argument, or a cast / to_tensor of one.
  for (Value cur = v; cur;) {
    if (auto arg = dyn_cast<BlockArgument>(cur))
      return arg.getOwner() == &f.getBody().front()
                 ? std::optional<unsigned>(arg.getArgNumber())
                 : std::nullopt;
    Operation *def = cur.getDefiningOp();
    if (isa_and_nonnull<tensor::CastOp, bufferization::ToTensorOp>(def))
      cur = def->getOperand(0);
    else
      break;
  }
  // A result written into an argument (possibly through casts).
  SmallVector<Value> worklist = {v};
  while (!worklist.empty()) {
    Value cur = worklist.pop_back_val();
    for (Operation *user : cur.getUsers()) {
      if (auto c = dyn_cast<tensor::CastOp>(user))
        worklist.push_back(c.getResult());
      if (auto m = dyn_cast<bufferization::MaterializeInDestinationOp>(user))
        if (m.getSource() == cur)
          if (auto arg = dyn_cast<BlockArgument>(m.getDest()))
            if (arg.getOwner() == &f.getBody().front())
              return arg.getArgNumber();
    }
  }
  return std::nullopt;
}

class WrapperBuilder {
public:
  WrapperBuilder(ImplicitLocOpBuilder &b, func::FuncOp f, Block *entry)
      : b(b), f(f), entry(entry) {
    shapeOk = arith::ConstantIntOp::create(b, 1, 1);
    layoutOk = shapeOk;
  }

  /// The run-time size of dim `d` of wrapper argument `i`.
  Value size(unsigned i, int64_t d) {
    Value arg = entry->getArgument(i);
    if (isa<RankedTensorType>(arg.getType()))
      return tensor::DimOp::create(b, arg, d);
    return memref::DimOp::create(b, arg, d);
  }

  void requireShape(Value cond) {
    shapeOk = arith::AndIOp::create(b, shapeOk, cond);
  }

  /// 1. Every static size of the inner signature.
  void checkStaticSizes() {
    for (auto [i, type] : llvm::enumerate(f.getArgumentTypes())) {
      auto shaped = cast<ShapedType>(type);
      for (int64_t d = 0; d < shaped.getRank(); ++d)
        if (!shaped.isDynamicDim(d))
          requireShape(eq(size(i, d), index(shaped.getDimSize(d))));
    }
  }

  /// 2. The size rules of every sparsek op.
  void checkOpRules() {
    f.walk([&](Operation *op) {
      for (const ShapeConstraint &c : getShapeConstraints(op)) {
        std::optional<Value> x = sizeOf(c.a), y = sizeOf(c.b);
        if (!x || !y)
          continue;
        requireShape(holds(c, *x, *y));
      }
    });
  }

  /// 3. Identity-layout memref arguments must be dense row-major views.
  void checkLayouts() {
    for (auto [i, type] : llvm::enumerate(f.getArgumentTypes())) {
      auto m = dyn_cast<MemRefType>(type);
      if (!m || !m.getLayout().isIdentity())
        continue;
      layoutOk = arith::AndIOp::create(
          b, layoutOk,
          isRowMajorAtRunTime(b, b.getLoc(), entry->getArgument(i)));
    }
  }

  /// Calls @NAME when everything holds; returns the status.
  void finish() {
    auto status = [&](int32_t s) {
      return arith::ConstantIntOp::create(b, s, 32).getResult();
    };
    Value code = arith::SelectOp::create(b, layoutOk, status(kOk),
                                         status(kBadLayout));
    code = arith::SelectOp::create(b, shapeOk, code, status(kBadShape));
    Value run = arith::AndIOp::create(b, shapeOk, layoutOk);
    auto ifOp = scf::IfOp::create(b, run, /*withElse=*/false);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      SmallVector<Value> args;
      for (auto [arg, type] :
           llvm::zip(entry->getArguments(), f.getArgumentTypes())) {
        if (isa<RankedTensorType>(type))
          args.push_back(tensor::CastOp::create(b, type, arg));
        else
          args.push_back(memref::CastOp::create(b, type, arg));
      }
      func::CallOp::create(b, f, args);
    }
    func::ReturnOp::create(b, code);
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value eq(Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, x, y);
  }

  /// The run-time size a DimRef stands for: static, or traced to an
  /// argument of @NAME.
  std::optional<Value> sizeOf(const DimRef &r) {
    int64_t s = r.staticSize();
    if (!ShapedType::isDynamic(s))
      return index(s);
    if (std::optional<unsigned> arg = traceToArgument(f, r.value))
      return size(*arg, r.dim);
    return std::nullopt;
  }

  /// The rule on index values (all sizes are non-negative).
  Value holds(const ShapeConstraint &c, Value x, Value y) {
    using Kind = ShapeConstraint::Kind;
    switch (c.kind) {
    case Kind::Equal:
      return eq(x, y);
    case Kind::LessEqual:
      return arith::CmpIOp::create(b, arith::CmpIPredicate::ule, x, y);
    case Kind::Multiple: {
      // y == 0 ? x == 0 : x % y == 0, without dividing by zero.
      Value yZero = eq(y, index(0));
      Value safeY = arith::SelectOp::create(b, yZero, index(1), y);
      Value rem = arith::RemUIOp::create(b, x, safeY);
      return arith::SelectOp::create(b, yZero, eq(x, index(0)),
                                     eq(rem, index(0)));
    }
    case Kind::AtLeast:
      return arith::CmpIOp::create(b, arith::CmpIPredicate::uge, x,
                                   index(c.c));
    case Kind::EqualTo:
      return eq(x, index(c.c));
    case Kind::BlocksOf:
      return eq(x, arith::CeilDivUIOp::create(b, y, index(c.c)));
    }
    llvm_unreachable("unknown constraint kind");
  }

  ImplicitLocOpBuilder &b;
  func::FuncOp f;
  Block *entry;
  Value shapeOk, layoutOk;
};

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
  WrapperBuilder w(b, f, entry);
  w.checkStaticSizes();
  w.checkOpRules();
  w.checkLayouts();
  w.finish();
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
