//===- SparseKOps.cpp - sparsek op verifiers --------------------*- C++ -*-===//
//
// Verifiers for every rule of SPEC section 8: ranks, element types and
// attributes here; the size relations between operands and results come
// from ShapeConstraints.cpp (checked here where both sides are static, and
// at run time by sparsek-checked-entry-points). Each diagnostic names the
// operand and the rule.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"
#include "sparsek/Dialect/SparseK/IR/ShapeConstraints.h"
#include "sparsek/Support/SoftmaxScale.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"

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

LogicalResult checkSameElementType(Operation *op, const Named &a,
                                   const Named &b) {
  if (a.type.getElementType() == b.type.getElementType())
    return success();
  return op->emitOpError() << "'" << a.name << "' and '" << b.name
                           << "' must have the same element type, got "
                           << a.type.getElementType() << " and "
                           << b.type.getElementType();
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

/// Shared by gathered_attention and attention: ranks and element types of
/// q, key, value, u and out (their sizes: ShapeConstraints.cpp).
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
  return success();
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
  if (Value bias = getBias())
    if (failed(checkTensor(op, named("bias", bias), 1, "[Hkv]", Elem::Float)))
      return failure();
  if (failed(verifyStaticShapeConstraints(op)))
    return failure();
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
  return verifyStaticShapeConstraints(op);
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
      failed(checkTensor(op, res, resRank, resLayout, resElem)))
    return failure();
  return verifyStaticShapeConstraints(op);
}

LogicalResult ThresholdOp::verify() {
  return verifyCausalSelection(getOperation(), getKAttr().getInt(), getWindowAttr().getInt(),
                               named("u", getU()), named("tau", getTau()), 3,
                               "[B, Hkv, N]", Elem::F32);
}

LogicalResult TopKOp::verify() {
  return verifyCausalSelection(getOperation(), getKAttr().getInt(),
                               getWindowAttr().getInt(), named("u", getU()),
                               named("indices", getIndices()), 4,
                               "[B, Hkv, N, k]", Elem::I32);
}

//===----------------------------------------------------------------------===//
// BlockSelectOp
//===----------------------------------------------------------------------===//

/// Ranks and element types of a block selection (block_select's results,
/// block_attention's operands); `unionShape` names union_keys' shape.
static LogicalResult checkBlockSelection(Operation *op, Value kthScore,
                                         Value kthIndex, Value tau,
                                         Value unionKeys, Value unionCount,
                                         StringRef unionShape) {
  return success(
      succeeded(checkTensor(op, named("kth_score", kthScore), 3,
                            "[B, Hkv, N]", Elem::F32)) &&
      succeeded(checkTensor(op, named("kth_index", kthIndex), 3,
                            "[B, Hkv, N]", Elem::I32)) &&
      succeeded(
          checkTensor(op, named("tau", tau), 3, "[B, Hkv, N]", Elem::F32)) &&
      succeeded(checkTensor(op, named("union_keys", unionKeys), 4, unionShape,
                            Elem::I32)) &&
      succeeded(checkTensor(op, named("union_count", unionCount), 3,
                            "[B, Hkv, NB]", Elem::I32)));
}

SmallVector<Type, 5> BlockSelectOp::getResultTypesFor(RankedTensorType uType,
                                                     int64_t n, int64_t k,
                                                     int64_t blockSize) {
  int64_t b = uType.getDimSize(0), hkv = uType.getDimSize(1);
  int64_t nb =
      ShapedType::isDynamic(n) ? n : (n + blockSize - 1) / blockSize;
  MLIRContext *ctx = uType.getContext();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  return {RankedTensorType::get({b, hkv, n}, f32),
          RankedTensorType::get({b, hkv, n}, i32),
          RankedTensorType::get({b, hkv, n}, f32),
          RankedTensorType::get({b, hkv, nb, k + blockSize - 1}, i32),
          RankedTensorType::get({b, hkv, nb}, i32)};
}

std::optional<int64_t> BlockSelectOp::selectionK(RankedTensorType uType,
                                                 int64_t k,
                                                 int64_t blockSize) {
  int64_t m = uType.getDimSize(2);
  if (!ShapedType::isDynamic(m))
    k = std::min(k, std::max<int64_t>(m, 1));
  constexpr int64_t limit = int64_t(1) << 30;
  if (k < 1 || blockSize < 1 || k > limit || blockSize > limit ||
      k + blockSize - 1 > limit)
    return std::nullopt;
  return k;
}

LogicalResult BlockSelectOp::verify() {
  Operation *op = getOperation();
  int64_t bq = getBlockSizeAttr().getInt();
  if (failed(checkK(op, getKAttr().getInt())) ||
      failed(checkWindow(op, getWindowAttr().getInt())))
    return failure();
  if (bq < 1)
    return emitOpError() << "requires block_size >= 1 (queries per block), "
                            "got block_size = "
                         << bq;
  if (getKAttr().getInt() > (int64_t(1) << 30) || bq > (int64_t(1) << 30))
    return emitOpError() << "requires k and block_size below 2^30 (the "
                            "union's width k + block_size - 1 is an i32 "
                            "count)";
  if (failed(checkTensor(op, named("u", getU()), 3, "[B, Hkv, M]",
                         Elem::F32)) ||
      failed(checkBlockSelection(op, getKthScore(), getKthIndex(), getTau(),
                                 getUnionKeys(), getUnionCount(),
                                 "[B, Hkv, NB, k + block_size - 1]")))
    return failure();
  // N: static in the result types, or the `queries` operand.
  bool dynamicN = getKthScore().getType().isDynamicDim(2);
  if (dynamicN && !getQueries())
    return emitOpError() << "a dynamic query length N (result 'kth_score' dim "
                            "2) requires the 'queries' operand (N)";
  if (!dynamicN && getQueries())
    return emitOpError() << "takes the 'queries' operand only for a dynamic "
                            "query length N; N = "
                         << getKthScore().getType().getDimSize(2)
                         << " is static";
  // A constant N must be a query count of these keys (0 <= N <= M); at
  // run time the lowerings clamp it.
  APInt constN;
  if (getQueries() && matchPattern(getQueries(), m_ConstantInt(&constN))) {
    int64_t nv = constN.getSExtValue(), m = getU().getType().getDimSize(2);
    if (nv < 0 || (!ShapedType::isDynamic(m) && nv > m))
      return emitOpError() << "'queries' (N) = " << nv
                           << " must be in [0, M]"
                           << (ShapedType::isDynamic(m)
                                   ? std::string()
                                   : " with M = " + std::to_string(m));
  }
  return verifyStaticShapeConstraints(op);
}

//===----------------------------------------------------------------------===//
// GatheredAttentionOp
//===----------------------------------------------------------------------===//

/// The softmax scale of an op whose `q` is `[B, Hq, N, D]`: its `scale`
/// attribute, or the default for a static D.
static std::optional<double> staticScale(FloatAttr scale, Value q) {
  if (scale)
    return scale.getValueAsDouble();
  int64_t d = cast<RankedTensorType>(q.getType()).getDimSize(3);
  if (ShapedType::isDynamic(d))
    return std::nullopt;
  return ::sparsek::defaultSoftmaxScale(d);
}

std::optional<double> GatheredAttentionOp::getStaticScale() {
  return staticScale(getScaleAttr(), getQ());
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
      failed(checkTensor(op, tau, 3, "[B, Hkv, N]", Elem::F32)))
    return failure();
  return verifyStaticShapeConstraints(op);
}

//===----------------------------------------------------------------------===//
// BlockAttentionOp
//===----------------------------------------------------------------------===//

/// The optional log-sum-exp of a causal layer (a result of the forward, an
/// operand of the backward): [B, Hq, N] f32.
static LogicalResult verifyLse(Operation *op, Value lse, bool causal) {
  if (!lse)
    return success();
  if (!causal)
    return op->emitOpError()
           << "'lse' (the forward's log-sum-exp) requires a causal layer "
              "(causal = true)";
  return checkTensor(op, named("lse", lse), 3, "[B, Hq, N]", Elem::F32);
}

/// An attention's query block: 1 <= block_size <= 2^30.
static LogicalResult checkBlockSize(Operation *op, int64_t bq) {
  if (bq < 1 || bq > (int64_t(1) << 30))
    return op->emitOpError() << "requires 1 <= block_size <= 2^30 (queries "
                                "per block), got block_size = "
                             << bq;
  return success();
}

std::optional<double> BlockAttentionOp::getStaticScale() {
  return staticScale(getScaleAttr(), getQ());
}

LogicalResult BlockAttentionOp::verify() {
  Operation *op = getOperation();
  int64_t bq = getBlockSizeAttr().getInt();
  if (failed(checkWindow(op, getWindowAttr().getInt())) ||
      failed(checkScale(op, getScaleAttr())))
    return failure();
  if (failed(checkBlockSize(op, bq)))
    return failure();
  if (failed(verifyAttentionTensors(op, named("q", getQ()),
                                    named("key", getKey()),
                                    named("value", getValue()),
                                    named("u", getU()), named("out", getOut()))) ||
      failed(checkBlockSelection(op, getKthScore(), getKthIndex(), getTau(),
                                 getUnionKeys(), getUnionCount(),
                                 "[B, Hkv, NB, W]")) ||
      failed(verifyLse(op, getLse(), /*causal=*/true)))
    return failure();
  return verifyStaticShapeConstraints(op);
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

/// The attributes of the whole layer (attention and its backward): k,
/// window, scale, and window = 0 when non-causal.
static LogicalResult verifyLayerAttributes(Operation *op, int64_t k,
                                           int64_t window, bool causal,
                                           FloatAttr scale) {
  if (failed(checkK(op, k)) || failed(checkWindow(op, window)) ||
      failed(checkScale(op, scale)))
    return failure();
  if (!causal && window != 0)
    return op->emitOpError() << "non-causal attention (causal = false) "
                                "requires window = 0, got window = "
                             << window;
  return success();
}

std::optional<double> AttentionOp::getStaticScale() {
  return staticScale(getScaleAttr(), getQ());
}

LogicalResult AttentionOp::verify() {
  Operation *op = getOperation();
  if (failed(verifyLayerAttributes(op, getKAttr().getInt(),
                                   getWindowAttr().getInt(), getCausal(),
                                   getScaleAttr())))
    return failure();
  if (failed(verifyAttentionTensors(op, named("q", getQ()),
                                    named("key", getKey()),
                                    named("value", getValue()),
                                    named("u", getU()), named("out", getOut()))) ||
      failed(verifyLse(op, getLse(), getCausal())))
    return failure();
  return verifyStaticShapeConstraints(op);
}

//===----------------------------------------------------------------------===//
// AttentionBackwardOp
//===----------------------------------------------------------------------===//

std::optional<double> AttentionBackwardOp::getStaticScale() {
  return staticScale(getScaleAttr(), getQ());
}

/// The tensors a backward shares with sparsek.attention_backward: the
/// layer's operands, out, dout and the four gradients.
static LogicalResult verifyBackwardTensors(Operation *op, Value qv, Value keyv,
                                           Value valuev, Value u, Value outv,
                                           Value doutv, Value dq, Value dkey,
                                           Value dvalue, Value du) {
  Named q = named("q", qv), key = named("key", keyv),
        value = named("value", valuev), out = named("out", outv),
        dout = named("dout", doutv);
  return success(
      succeeded(verifyAttentionTensors(op, q, key, value, named("u", u),
                                       out)) &&
      succeeded(checkTensor(op, dout, 4, "[B, Hq, N, Dv]", Elem::Float)) &&
      succeeded(checkSameElementType(op, q, dout)) &&
      succeeded(checkTensor(op, named("dq", dq), 4, "[B, Hq, N, D]",
                            Elem::Float)) &&
      succeeded(checkTensor(op, named("dkey", dkey), 4, "[B, Hkv, M, D]",
                            Elem::Float)) &&
      succeeded(checkTensor(op, named("dvalue", dvalue), 4, "[B, Hkv, M, Dv]",
                            Elem::Float)) &&
      succeeded(
          checkTensor(op, named("du", du), 3, "[B, Hkv, M]", Elem::F32)) &&
      succeeded(checkSameElementType(op, q, named("dq", dq))) &&
      succeeded(checkSameElementType(op, q, named("dkey", dkey))) &&
      succeeded(checkSameElementType(op, q, named("dvalue", dvalue))));
}

LogicalResult AttentionBackwardOp::verify() {
  Operation *op = getOperation();
  if (failed(verifyLayerAttributes(op, getKAttr().getInt(),
                                   getWindowAttr().getInt(), getCausal(),
                                   getScaleAttr())))
    return failure();
  if (failed(verifyBackwardTensors(op, getQ(), getKey(), getValue(), getU(),
                                   getOut(), getDout(), getDq(), getDkey(),
                                   getDvalue(), getDu())) ||
      failed(verifyLse(op, getLse(), getCausal())))
    return failure();
  return verifyStaticShapeConstraints(op);
}

//===----------------------------------------------------------------------===//
// BlockAttentionBackwardOp
//===----------------------------------------------------------------------===//

std::optional<double> BlockAttentionBackwardOp::getStaticScale() {
  return staticScale(getScaleAttr(), getQ());
}

LogicalResult BlockAttentionBackwardOp::verify() {
  Operation *op = getOperation();
  int64_t bq = getBlockSizeAttr().getInt();
  if (failed(verifyLayerAttributes(op, getKAttr().getInt(),
                                   getWindowAttr().getInt(), /*causal=*/true,
                                   getScaleAttr())) ||
      failed(checkBlockSize(op, bq)))
    return failure();
  if (failed(verifyBackwardTensors(op, getQ(), getKey(), getValue(), getU(),
                                   getOut(), getDout(), getDq(), getDkey(),
                                   getDvalue(), getDu())) ||
      failed(verifyLse(op, getLse(), /*causal=*/true)) ||
      failed(checkBlockSelection(op, getKthScore(), getKthIndex(), getTau(),
                                 getUnionKeys(), getUnionCount(),
                                 "[B, Hkv, NB, W]")))
    return failure();
  return verifyStaticShapeConstraints(op);
}

//===----------------------------------------------------------------------===//
// DecodePrefillOp and DecodeStepOp
//===----------------------------------------------------------------------===//

/// k and window of a decode op: k >= 1, window >= 0, both at most 2^30 (the
/// state's slots, k + window, and its positions are i32).
static LogicalResult checkDecodeAttributes(Operation *op, int64_t k,
                                           int64_t window) {
  if (failed(checkK(op, k)) || failed(checkWindow(op, window)))
    return failure();
  if (k > (int64_t(1) << 30) || window > (int64_t(1) << 30))
    return op->emitOpError() << "requires k and window at most 2^30 (the "
                                "decode state's slots, k + window, are "
                                "indexed by i32)";
  return success();
}

/// Ranks and element types of the nine decode-state tensors (their sizes:
/// ShapeConstraints.cpp); keys and values hold `elem`, named after `of`.
static LogicalResult verifyDecodeState(Operation *op, ValueRange state,
                                       const Named &of) {
  static const struct {
    const char *name;
    int64_t rank;
    const char *layout;
    Elem elem;
  } kState[] = {
      {"keys_init", 4, "[B, Hkv, k + window, D]", Elem::Float},
      {"values_init", 4, "[B, Hkv, k + window, Dv]", Elem::Float},
      {"scores_init", 3, "[B, Hkv, k + window]", Elem::F32},
      {"positions_init", 3, "[B, Hkv, k + window]", Elem::I32},
      {"band_scores_init", 4, "[B, Hkv, 2, k + Cb + 1]", Elem::F32},
      {"band_positions_init", 4, "[B, Hkv, 2, k + Cb + 1]", Elem::I32},
      {"threshold_init", 3, "[B, Hkv, 3]", Elem::F32},
      {"counts_init", 3, "[B, Hkv, 3]", Elem::I32},
      {"lengths_init", 1, "[B]", Elem::I32},
  };
  for (auto [spec, v] : llvm::zip_equal(kState, state)) {
    Named t = named(spec.name, v);
    if (StringRef(spec.name) == "threshold_init") {
      // The threshold's running sums are f64 (exact for any f32 scores).
      if (t.type.getRank() != 3)
        return op->emitOpError() << "'threshold_init' must have rank 3 "
                                    "[B, Hkv, 3], got rank "
                                 << t.type.getRank();
      if (!t.type.getElementType().isF64())
        return op->emitOpError()
               << "'threshold_init' must have element type f64, got "
               << t.type.getElementType();
      continue;
    }
    if (failed(checkTensor(op, t, spec.rank, spec.layout, spec.elem)))
      return failure();
    if (spec.elem == Elem::Float && failed(checkSameElementType(op, of, t)))
      return failure();
  }
  return success();
}

LogicalResult DecodePrefillOp::verify() {
  Operation *op = getOperation();
  Named key = named("key", getKey()), value = named("value", getValue());
  if (failed(checkDecodeAttributes(op, getKAttr().getInt(),
                                   getWindowAttr().getInt())) ||
      failed(checkTensor(op, key, 4, "[B, Hkv, P, D]", Elem::Float)) ||
      failed(checkTensor(op, value, 4, "[B, Hkv, P, Dv]", Elem::Float)) ||
      failed(checkSameElementType(op, key, value)) ||
      failed(checkTensor(op, named("u", getU()), 3, "[B, Hkv, P]",
                         Elem::F32)) ||
      failed(checkTensor(op, named("prompt_lengths", getPromptLengths()), 1,
                         "[B]", Elem::I32)) ||
      failed(verifyDecodeState(op, getDpsInits(), key)))
    return failure();
  return verifyStaticShapeConstraints(op);
}

std::optional<double> DecodeStepOp::getStaticScale() {
  return staticScale(getScaleAttr(), getQ());
}

LogicalResult DecodeStepOp::verify() {
  Operation *op = getOperation();
  Named q = named("q", getQ());
  if (failed(checkDecodeAttributes(op, getKAttr().getInt(),
                                   getWindowAttr().getInt())) ||
      failed(checkScale(op, getScaleAttr())) ||
      failed(verifyAttentionTensors(op, q, named("key", getKey()),
                                    named("value", getValue()),
                                    named("u", getU()),
                                    named("out_init", getOutInit()))) ||
      failed(verifyDecodeState(op, getDpsInits().drop_front(), q)))
    return failure();
  return verifyStaticShapeConstraints(op);
}

//===----------------------------------------------------------------------===//
// KernelCallOp
//===----------------------------------------------------------------------===//

LogicalResult KernelCallOp::verify() {
  if (getResults().size() != getInits().size())
    return emitOpError() << "requires one result per init, got "
                         << getResults().size() << " results and "
                         << getInits().size() << " inits";
  for (auto [i, r, init] : llvm::enumerate(getResults(), getInits()))
    if (r.getType() != init.getType())
      return emitOpError() << "result " << i << " must have the type of init "
                           << i << ", got " << r.getType() << " and "
                           << init.getType();
  return success();
}

// Bufferization: every operand is read; inits are written, each in place
// into the buffer of its result (the destination-passing contract).
bool KernelCallOp::bufferizesToMemoryRead(
    OpOperand &, const bufferization::AnalysisState &) {
  return true;
}

bool KernelCallOp::bufferizesToMemoryWrite(
    OpOperand &operand, const bufferization::AnalysisState &) {
  return isDpsInit(&operand);
}

bufferization::AliasingValueList
KernelCallOp::getAliasingValues(OpOperand &operand,
                                const bufferization::AnalysisState &) {
  if (!isDpsInit(&operand))
    return {};
  return {{getTiedOpResult(&operand), bufferization::BufferRelation::Equivalent}};
}

LogicalResult
KernelCallOp::bufferize(RewriterBase &rewriter,
                        const bufferization::BufferizationOptions &options,
                        bufferization::BufferizationState &state) {
  auto callee =
      SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(*this, getCalleeAttr());
  if (!callee || callee.getNumArguments() != getNumOperands() ||
      callee.getNumResults() != 0)
    return emitOpError() << "callee '" << getCallee()
                         << "' must be a function of one memref argument per "
                            "operand and no results";
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(*this);
  SmallVector<Value> args, inits;
  for (auto [operand, argType] :
       llvm::zip_equal(getOperands(), callee.getArgumentTypes())) {
    FailureOr<Value> buf =
        bufferization::getBuffer(rewriter, operand, options, state);
    if (failed(buf))
      return failure();
    if (!memref::CastOp::areCastCompatible(buf->getType(), argType))
      return emitOpError() << "buffer type " << buf->getType()
                           << " cannot be cast to the callee's " << argType;
    args.push_back(
        memref::CastOp::create(rewriter, getLoc(), argType, *buf));
  }
  for (Value init : getInits())
    inits.push_back(
        *bufferization::getBuffer(rewriter, init, options, state));
  func::CallOp::create(rewriter, getLoc(), callee, args);
  bufferization::replaceOpWithBufferizedValues(rewriter, *this, inits);
  return success();
}

#define GET_OP_CLASSES
#include "sparsek/Dialect/SparseK/IR/SparseKOps.cpp.inc"
