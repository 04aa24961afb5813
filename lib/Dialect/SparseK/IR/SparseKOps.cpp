//===- SparseKOps.cpp - sparsek op verifiers --------------------*- C++ -*-===//
//
// Verifiers for every rule of SPEC section 8 and every shape relation between
// operands and results. Each diagnostic names the operand and the rule.
// Dynamic dimensions are accepted; relations are checked where both sides
// are static.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#include <cmath>
#include <optional>

using namespace mlir;
using namespace mlir::sparsek;

namespace {

/// A tensor operand or result, with the name diagnostics use for it.
struct Named {
  StringRef name;
  RankedTensorType type;
  int64_t dim(unsigned i) const { return type.getDimSize(i); }
};

Named named(StringRef name, Value v) {
  return {name, cast<RankedTensorType>(v.getType())};
}

/// Which element types an operand admits.
enum class Elem { F32, Float, I32 };

bool isFloat(Type t) { return t.isF32() || t.isF16() || t.isBF16(); }

LogicalResult checkTensor(Operation *op, const Named &t, int64_t rank,
                          StringRef layout, Elem elem) {
  if (t.type.getRank() != rank)
    return op->emitOpError()
           << "'" << t.name << "' must have rank " << rank << " " << layout
           << ", got rank " << t.type.getRank();
  Type e = t.type.getElementType();
  switch (elem) {
  case Elem::F32:
    if (!e.isF32())
      return op->emitOpError()
             << "'" << t.name << "' must have element type f32, got " << e;
    break;
  case Elem::Float:
    if (!isFloat(e))
      return op->emitOpError() << "'" << t.name
                               << "' must have element type f32, f16 or "
                                  "bf16, got "
                               << e;
    break;
  case Elem::I32:
    if (!e.isSignlessInteger(32))
      return op->emitOpError()
             << "'" << t.name << "' must have element type i32, got " << e;
    break;
  }
  return success();
}

/// `what` names the dimension ("batch", "KV heads", ...).
LogicalResult checkSameDim(Operation *op, StringRef what, const Named &a,
                           unsigned ai, const Named &b, unsigned bi) {
  int64_t x = a.dim(ai), y = b.dim(bi);
  if (ShapedType::isDynamic(x) || ShapedType::isDynamic(y) || x == y)
    return success();
  return op->emitOpError() << what << " mismatch: '" << a.name << "' has "
                           << x << " at dim " << ai << " but '" << b.name
                           << "' has " << y << " at dim " << bi;
}

LogicalResult checkSameElementType(Operation *op, const Named &a,
                                   const Named &b) {
  if (a.type.getElementType() == b.type.getElementType())
    return success();
  return op->emitOpError() << "'" << a.name << "' and '" << b.name
                           << "' must have the same element type, got "
                           << a.type.getElementType() << " and "
                           << b.type.getElementType();
}

/// SPEC: query length N must not exceed KV length M.
LogicalResult checkQueryLength(Operation *op, const Named &n, unsigned ni,
                               const Named &m, unsigned mi) {
  int64_t nn = n.dim(ni), mm = m.dim(mi);
  if (ShapedType::isDynamic(nn) || ShapedType::isDynamic(mm) || nn <= mm)
    return success();
  return op->emitOpError() << "query length N = " << nn << " ('" << n.name
                           << "' dim " << ni << ") exceeds KV length M = "
                           << mm << " ('" << m.name << "' dim " << mi
                           << "); N <= M is required";
}

LogicalResult checkK(Operation *op, int64_t k) {
  if (k >= 1)
    return success();
  return op->emitOpError() << "requires k >= 1 (selected KV pairs per "
                              "query), got k = "
                           << k;
}

LogicalResult checkWindow(Operation *op, int64_t window) {
  if (window >= 0)
    return success();
  return op->emitOpError() << "requires window >= 0 (sliding-window "
                              "length), got window = "
                           << window;
}

LogicalResult checkScale(Operation *op, FloatAttr scale) {
  if (!scale)
    return success();
  double s = scale.getValueAsDouble();
  if (s > 0 && std::isfinite(s))
    return success();
  return op->emitOpError()
         << "requires scale > 0 (finite softmax scale), got scale = " << s;
}

/// Shared by gathered_attention and attention: q, key, value, u and out.
LogicalResult verifyAttentionTensors(Operation *op, const Named &q,
                                     const Named &key, const Named &value,
                                     const Named &u, const Named &out) {
  if (failed(checkTensor(op, q, 4, "[B, Hq, N, D]", Elem::Float)) ||
      failed(checkTensor(op, key, 4, "[B, Hkv, M, D]", Elem::Float)) ||
      failed(checkTensor(op, value, 4, "[B, Hkv, M, Dv]", Elem::Float)) ||
      failed(checkTensor(op, u, 3, "[B, Hkv, M]", Elem::F32)) ||
      failed(checkTensor(op, out, 4, "[B, Hq, N, Dv]", Elem::Float)))
    return failure();
  if (failed(checkSameElementType(op, q, key)) ||
      failed(checkSameElementType(op, q, value)) ||
      failed(checkSameElementType(op, q, out)))
    return failure();
  if (failed(checkSameDim(op, "batch", q, 0, key, 0)) ||
      failed(checkSameDim(op, "batch", q, 0, value, 0)) ||
      failed(checkSameDim(op, "batch", q, 0, u, 0)) ||
      failed(checkSameDim(op, "batch", q, 0, out, 0)) ||
      failed(checkSameDim(op, "KV heads", key, 1, value, 1)) ||
      failed(checkSameDim(op, "KV heads", key, 1, u, 1)) ||
      failed(checkSameDim(op, "query heads", q, 1, out, 1)) ||
      failed(checkSameDim(op, "KV length", key, 2, value, 2)) ||
      failed(checkSameDim(op, "KV length", key, 2, u, 2)) ||
      failed(checkSameDim(op, "query length", q, 2, out, 2)) ||
      failed(checkSameDim(op, "head dim", q, 3, key, 3)) ||
      failed(checkSameDim(op, "value head dim", value, 3, out, 3)))
    return failure();
  // SPEC 8: a head needs at least one dimension (the default scale is
  // 1/sqrt(D)).
  if (q.dim(3) == 0)
    return op->emitOpError() << "head dim D ('q' dim 3) must be >= 1, got 0";
  if (value.dim(3) == 0)
    return op->emitOpError()
           << "value head dim Dv ('value' dim 3) must be >= 1, got 0";
  int64_t hq = q.dim(1), hkv = key.dim(1);
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      (hkv == 0 ? hq != 0 : hq % hkv != 0))
    return op->emitOpError()
           << "query heads Hq = " << hq << " ('q' dim 1) must be a multiple "
           << "of KV heads Hkv = " << hkv << " ('key' dim 1) (GQA: Hq % Hkv "
           << "== 0)";
  return checkQueryLength(op, q, 2, key, 2);
}

} // namespace

//===----------------------------------------------------------------------===//
// ScoreOp
//===----------------------------------------------------------------------===//

LogicalResult ScoreOp::verify() {
  Operation *op = getOperation();
  Named x = named("x", getX()), w = named("w_score", getWScore()),
        u = named("u", getU());
  if (failed(checkTensor(op, x, 3, "[B, M, C]", Elem::Float)) ||
      failed(checkTensor(op, w, 2, "[Hkv, C]", Elem::Float)) ||
      failed(checkTensor(op, u, 3, "[B, Hkv, M]", Elem::F32)))
    return failure();
  if (failed(checkSameDim(op, "feature dim", x, 2, w, 1)) ||
      failed(checkSameDim(op, "batch", x, 0, u, 0)) ||
      failed(checkSameDim(op, "KV heads", w, 0, u, 1)) ||
      failed(checkSameDim(op, "KV length", x, 1, u, 2)))
    return failure();
  if (Value bias = getBias()) {
    Named b = named("bias", bias);
    if (failed(checkTensor(op, b, 1, "[Hkv]", Elem::Float)) ||
        failed(checkSameDim(op, "KV heads", w, 0, b, 0)))
      return failure();
  }
  if (!std::isfinite(getSlope().convertToDouble()))
    return emitOpError() << "requires a finite slope, got "
                         << getSlope().convertToDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// MaskOp
//===----------------------------------------------------------------------===//

LogicalResult MaskOp::verify() {
  Operation *op = getOperation();
  if (failed(checkK(op, getKAttr().getInt())))
    return failure();
  Named z = named("z", getZ()), p = named("p", getP()),
        tau = named("tau", getTau());
  if (z.type.getRank() < 1)
    return emitOpError() << "'z' must have rank >= 1 [..., n], got rank 0";
  int64_t rank = z.type.getRank();
  if (failed(checkTensor(op, z, rank, "[..., n]", Elem::F32)) ||
      failed(checkTensor(op, p, rank, "(the rank of 'z')", Elem::F32)) ||
      failed(checkTensor(op, tau, rank - 1, "(the rank of 'z' minus one)",
                         Elem::F32)))
    return failure();
  for (unsigned i = 0; i < rank; ++i)
    if (failed(checkSameDim(op, "shape", z, i, p, i)))
      return failure();
  for (unsigned i = 0; i + 1 < rank; ++i)
    if (failed(checkSameDim(op, "leading shape", z, i, tau, i)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// ThresholdOp and TopKOp
//===----------------------------------------------------------------------===//

/// Shared by threshold and topk: `u : [B, Hkv, M]` against a result whose
/// first three dims are `[B, Hkv, N]`.
static LogicalResult verifyCausalSelection(Operation *op, int64_t k,
                                           int64_t window, const Named &u,
                                           const Named &res, int64_t resRank,
                                           StringRef resLayout, Elem resElem) {
  if (failed(checkK(op, k)) || failed(checkWindow(op, window)) ||
      failed(checkTensor(op, u, 3, "[B, Hkv, M]", Elem::F32)) ||
      failed(checkTensor(op, res, resRank, resLayout, resElem)) ||
      failed(checkSameDim(op, "batch", u, 0, res, 0)) ||
      failed(checkSameDim(op, "KV heads", u, 1, res, 1)))
    return failure();
  return checkQueryLength(op, res, 2, u, 2);
}

LogicalResult ThresholdOp::verify() {
  return verifyCausalSelection(getOperation(), getKAttr().getInt(), getWindowAttr().getInt(),
                               named("u", getU()), named("tau", getTau()), 3,
                               "[B, Hkv, N]", Elem::F32);
}

LogicalResult TopKOp::verify() {
  Named idx = named("indices", getIndices());
  if (failed(verifyCausalSelection(getOperation(), getKAttr().getInt(), getWindowAttr().getInt(),
                                   named("u", getU()), idx, 4,
                                   "[B, Hkv, N, k]", Elem::I32)))
    return failure();
  int64_t last = idx.dim(3);
  int64_t k = getKAttr().getInt();
  if (!ShapedType::isDynamic(last) && last != k)
    return emitOpError() << "'indices' last dim must equal k = " << k
                         << ", got " << last;
  return success();
}

//===----------------------------------------------------------------------===//
// GatheredAttentionOp
//===----------------------------------------------------------------------===//

/// The softmax scale of an op whose `q` is `[B, Hq, N, D]`: its `scale`
/// attribute, or 1/sqrt(D). Only meaningful once D is known.
static double scaleOrDefault(FloatAttr scale, Value q) {
  if (scale)
    return scale.getValueAsDouble();
  int64_t d = cast<RankedTensorType>(q.getType()).getDimSize(3);
  return 1.0 / std::sqrt(static_cast<double>(d));
}

double GatheredAttentionOp::getScaleOrDefault() {
  return scaleOrDefault(getScaleAttr(), getQ());
}

LogicalResult GatheredAttentionOp::verify() {
  Operation *op = getOperation();
  Named q = named("q", getQ()), key = named("key", getKey()),
        value = named("value", getValue()), u = named("u", getU()),
        idx = named("indices", getIndices()), tau = named("tau", getTau()),
        out = named("out", getOut());
  if (failed(checkWindow(op, getWindowAttr().getInt())) ||
      failed(checkScale(op, getScaleAttr())) ||
      failed(verifyAttentionTensors(op, q, key, value, u, out)) ||
      failed(checkTensor(op, idx, 4, "[B, Hkv, N, k]", Elem::I32)) ||
      failed(checkTensor(op, tau, 3, "[B, Hkv, N]", Elem::F32)) ||
      failed(checkSameDim(op, "batch", q, 0, idx, 0)) ||
      failed(checkSameDim(op, "batch", q, 0, tau, 0)) ||
      failed(checkSameDim(op, "KV heads", key, 1, idx, 1)) ||
      failed(checkSameDim(op, "KV heads", key, 1, tau, 1)) ||
      failed(checkSameDim(op, "query length", q, 2, idx, 2)) ||
      failed(checkSameDim(op, "query length", q, 2, tau, 2)))
    return failure();
  if (idx.dim(3) == 0)
    return emitOpError() << "'indices' last dim (k) must be >= 1, got 0";
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

double AttentionOp::getScaleOrDefault() {
  return scaleOrDefault(getScaleAttr(), getQ());
}

LogicalResult AttentionOp::verify() {
  Operation *op = getOperation();
  int64_t window = getWindowAttr().getInt();
  if (failed(checkK(op, getKAttr().getInt())) ||
      failed(checkWindow(op, window)) ||
      failed(checkScale(op, getScaleAttr())))
    return failure();
  if (!getCausal() && window != 0)
    return emitOpError() << "non-causal attention (causal = false) requires "
                            "window = 0, got window = "
                         << window;
  return verifyAttentionTensors(op, named("q", getQ()),
                                named("key", getKey()),
                                named("value", getValue()), named("u", getU()),
                                named("out", getOut()));
}

#define GET_OP_CLASSES
#include "sparsek/Dialect/SparseK/IR/SparseKOps.cpp.inc"
