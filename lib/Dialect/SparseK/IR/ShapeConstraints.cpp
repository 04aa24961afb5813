//===- ShapeConstraints.cpp - size rules of sparsek ops ---------*- C++ -*-===//

#include "sparsek/Dialect/SparseK/IR/ShapeConstraints.h"
#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sparsek;

int64_t DimRef::staticSize() const {
  return cast<ShapedType>(value.getType()).getDimSize(dim);
}

bool ShapeConstraint::holds(int64_t x, int64_t y) const {
  switch (kind) {
  case Kind::Equal:
    return x == y;
  case Kind::LessEqual:
    return x <= y;
  case Kind::Multiple:
    return y == 0 ? x == 0 : x % y == 0;
  case Kind::AtLeast:
    return x >= c;
  case Kind::EqualTo:
    return x == c;
  case Kind::BlocksOf:
    return c > 0 && x == (y + c - 1) / c;
  }
  return false;
}

std::string ShapeConstraint::message(int64_t x, int64_t y) const {
  std::string s;
  llvm::raw_string_ostream os(s);
  switch (kind) {
  case Kind::Equal:
    os << what << " mismatch: '" << a.name << "' has " << x << " at dim "
       << a.dim << " but '" << b.name << "' has " << y << " at dim " << b.dim;
    break;
  case Kind::LessEqual:
    os << "query length N = " << x << " ('" << a.name << "' dim " << a.dim
       << ") exceeds KV length M = " << y << " ('" << b.name << "' dim "
       << b.dim << "); N <= M is required";
    break;
  case Kind::Multiple:
    os << "query heads Hq = " << x << " ('" << a.name << "' dim " << a.dim
       << ") must be a multiple of KV heads Hkv = " << y << " ('" << b.name
       << "' dim " << b.dim << ") (GQA: Hq % Hkv == 0)";
    break;
  case Kind::AtLeast:
    os << what << " must be >= " << c << ", got " << x;
    break;
  case Kind::EqualTo:
    os << what << " = " << c << ", got " << x;
    break;
  case Kind::BlocksOf:
    os << what << ": '" << a.name << "' dim " << a.dim << " must be ceil(N / "
       << c << ") = " << (c > 0 ? (y + c - 1) / c : 0) << " for N = " << y
       << ", got " << x;
    break;
  }
  return s;
}

namespace {

using Kind = ShapeConstraint::Kind;

/// Builds the list for one op; operands are named as diagnostics name them.
struct Rules {
  SmallVector<ShapeConstraint> list;

  DimRef ref(Value v, unsigned d, StringRef name) {
    return DimRef{v, d, name.str()};
  }
  void equal(StringRef what, DimRef a, DimRef b) {
    list.push_back({Kind::Equal, what.str(), std::move(a), std::move(b), 0});
  }
  void lessEqual(DimRef a, DimRef b) {
    list.push_back({Kind::LessEqual, "", std::move(a), std::move(b), 0});
  }
  void multiple(DimRef a, DimRef b) {
    list.push_back({Kind::Multiple, "", std::move(a), std::move(b), 0});
  }
  void atLeast(StringRef what, DimRef a, int64_t c) {
    list.push_back({Kind::AtLeast, what.str(), a, a, c});
  }
  void equalTo(StringRef what, DimRef a, int64_t c) {
    list.push_back({Kind::EqualTo, what.str(), a, a, c});
  }
  void blocksOf(StringRef what, DimRef a, DimRef b, int64_t c) {
    list.push_back({Kind::BlocksOf, what.str(), std::move(a), std::move(b), c});
  }

  /// q, key, value, u and out of gathered_attention and attention.
  void attention(Value q, Value key, Value value, Value u, Value out) {
    auto Q = [&](unsigned d) { return ref(q, d, "q"); };
    auto K = [&](unsigned d) { return ref(key, d, "key"); };
    auto V = [&](unsigned d) { return ref(value, d, "value"); };
    auto U = [&](unsigned d) { return ref(u, d, "u"); };
    auto O = [&](unsigned d) { return ref(out, d, "out"); };
    equal("batch", Q(0), K(0));
    equal("batch", Q(0), V(0));
    equal("batch", Q(0), U(0));
    equal("batch", Q(0), O(0));
    equal("KV heads", K(1), V(1));
    equal("KV heads", K(1), U(1));
    equal("query heads", Q(1), O(1));
    equal("KV length", K(2), V(2));
    equal("KV length", K(2), U(2));
    equal("query length", Q(2), O(2));
    equal("head dim", Q(3), K(3));
    equal("value head dim", V(3), O(3));
    // A head needs at least one dimension (the default scale is 1/sqrt(D)).
    atLeast("head dim D ('q' dim 3)", Q(3), 1);
    atLeast("value head dim Dv ('value' dim 3)", V(3), 1);
    multiple(Q(1), K(1));
    lessEqual(Q(2), K(2));
  }

  /// A block selection (block_select's results) against the queries and
  /// keys of the attention that reads it.
  void blockSelection(Value q, Value key, Value kthScore, Value kthIndex,
                      Value tau, Value un, Value cnt, int64_t blockSize) {
    for (auto [v, name] : {std::pair<Value, StringRef>{kthScore, "kth_score"},
                           {kthIndex, "kth_index"},
                           {tau, "tau"}}) {
      equal("batch", ref(q, 0, "q"), ref(v, 0, name));
      equal("KV heads", ref(key, 1, "key"), ref(v, 1, name));
      equal("query length", ref(q, 2, "q"), ref(v, 2, name));
    }
    for (auto [v, name] : {std::pair<Value, StringRef>{un, "union_keys"},
                           {cnt, "union_count"}}) {
      equal("batch", ref(q, 0, "q"), ref(v, 0, name));
      equal("KV heads", ref(key, 1, "key"), ref(v, 1, name));
    }
    blocksOf("query blocks", ref(un, 2, "union_keys"), ref(q, 2, "q"),
             blockSize);
    equal("query blocks", ref(un, 2, "union_keys"), ref(cnt, 2, "union_count"));
    atLeast("'union_keys' last dim", ref(un, 3, "union_keys"), 1);
  }

  /// The layer's operands, out, dout and the four gradients of a backward.
  void backward(Value q, Value key, Value value, Value u, Value out,
                Value dout, Value dq, Value dkey, Value dvalue, Value du) {
    attention(q, key, value, u, out);
    for (unsigned d = 0; d < 4; ++d) {
      equal(d == 3 ? "value head dim" : "shape", ref(out, d, "out"),
            ref(dout, d, "dout"));
      equal(d == 3 ? "head dim" : "shape", ref(q, d, "q"), ref(dq, d, "dq"));
      equal(d == 3 ? "head dim" : "shape", ref(key, d, "key"),
            ref(dkey, d, "dkey"));
      equal(d == 3 ? "value head dim" : "shape", ref(value, d, "value"),
            ref(dvalue, d, "dvalue"));
    }
    for (unsigned d = 0; d < 3; ++d)
      equal("shape", ref(u, d, "u"), ref(du, d, "du"));
  }

  /// A layer's log-sum-exp [B, Hq, N] against its queries.
  void lse(Value q, Value lse) {
    static const char *kWhat[] = {"batch", "query heads", "query length"};
    for (unsigned d = 0; d < 3; ++d)
      equal(kWhat[d], ref(q, d, "q"), ref(lse, d, "lse"));
  }

  /// The nine decode-state tensors against the batch (`batch`, dim 0 of
  /// a tensor named `batchName`), KV heads, head dims and `k` + `window`.
  void decodeState(ValueRange st, DimRef batch, DimRef heads, DimRef d,
                   DimRef dv, int64_t k, int64_t window) {
    static const char *kNames[] = {
        "keys_init",        "values_init",         "scores_init",
        "positions_init",   "band_scores_init",    "band_positions_init",
        "threshold_init",   "counts_init",         "lengths_init"};
    auto S = [&](unsigned i, unsigned dim) { return ref(st[i], dim, kNames[i]); };
    for (unsigned i = 0; i < 9; ++i)
      equal("batch", batch, S(i, 0));
    for (unsigned i = 0; i < 8; ++i)
      equal("KV heads", heads, S(i, 1));
    equal("head dim", d, S(0, 3));
    equal("value head dim", dv, S(1, 3));
    equalTo("'keys_init' dim 2 (slots) must equal k + window", S(0, 2),
            k + window);
    for (unsigned i = 1; i < 4; ++i)
      equal("slots", S(0, 2), S(i, 2));
    equalTo("'band_scores_init' dim 2 (heaps)", S(4, 2), 2);
    equalTo("'band_positions_init' dim 2 (heaps)", S(5, 2),
            2);
    atLeast("'band_scores_init' dim 3 (k + band capacity + 1)", S(4, 3),
            k + 1);
    equal("band entries", S(4, 3), S(5, 3));
    equalTo("'threshold_init' dim 2 (tau, anchor, sum)", S(6, 2), 3);
    equalTo("'counts_init' dim 2 (heap sizes, overflow)", S(7, 2), 3);
  }

  /// threshold and topk: u : [B, Hkv, M] against [B, Hkv, N, ...].
  void selection(Value u, Value res, StringRef resName) {
    equal("batch", ref(u, 0, "u"), ref(res, 0, resName));
    equal("KV heads", ref(u, 1, "u"), ref(res, 1, resName));
    lessEqual(ref(res, 2, resName), ref(u, 2, "u"));
  }
};

} // namespace

SmallVector<ShapeConstraint> mlir::sparsek::getShapeConstraints(Operation *op) {
  Rules r;
  llvm::TypeSwitch<Operation *>(op)
      .Case([&](ScoreOp s) {
        Value x = s.getX(), w = s.getWScore(), u = s.getU();
        r.equal("feature dim", r.ref(x, 2, "x"), r.ref(w, 1, "w_score"));
        r.equal("batch", r.ref(x, 0, "x"), r.ref(u, 0, "u"));
        r.equal("KV heads", r.ref(w, 0, "w_score"), r.ref(u, 1, "u"));
        r.equal("KV length", r.ref(x, 1, "x"), r.ref(u, 2, "u"));
        if (Value b = s.getBias())
          r.equal("KV heads", r.ref(w, 0, "w_score"), r.ref(b, 0, "bias"));
      })
      .Case([&](MaskOp m) {
        Value z = m.getZ(), p = m.getP(), tau = m.getTau();
        int64_t rank = cast<ShapedType>(z.getType()).getRank();
        for (int64_t i = 0; i < rank; ++i)
          r.equal("shape", r.ref(z, i, "z"), r.ref(p, i, "p"));
        for (int64_t i = 0; i + 1 < rank; ++i)
          r.equal("leading shape", r.ref(z, i, "z"), r.ref(tau, i, "tau"));
      })
      .Case([&](ThresholdOp t) { r.selection(t.getU(), t.getTau(), "tau"); })
      .Case([&](TopKOp t) {
        r.selection(t.getU(), t.getIndices(), "indices");
        r.equalTo("'indices' last dim must equal k",
                  r.ref(t.getIndices(), 3, "indices"), t.getKAttr().getInt());
      })
      .Case([&](BlockSelectOp s) {
        Value u = s.getU(), ks = s.getKthScore(), ki = s.getKthIndex(),
              tau = s.getTau(), un = s.getUnionKeys(), cnt = s.getUnionCount();
        r.selection(u, ks, "kth_score");
        for (auto [v, name] : {std::pair<Value, StringRef>{ki, "kth_index"},
                               {tau, "tau"}})
          for (unsigned d = 0; d < 3; ++d)
            r.equal(d == 0 ? "batch" : d == 1 ? "KV heads" : "query length",
                    r.ref(ks, d, "kth_score"), r.ref(v, d, name));
        for (unsigned d = 0; d < 2; ++d) {
          StringRef what = d == 0 ? "batch" : "KV heads";
          r.equal(what, r.ref(u, d, "u"), r.ref(un, d, "union_keys"));
          r.equal(what, r.ref(u, d, "u"), r.ref(cnt, d, "union_count"));
        }
        int64_t bq = s.getBlockSizeAttr().getInt();
        r.blocksOf("query blocks", r.ref(un, 2, "union_keys"),
                   r.ref(ks, 2, "kth_score"), bq);
        r.equal("query blocks", r.ref(un, 2, "union_keys"),
                r.ref(cnt, 2, "union_count"));
        r.equalTo("'union_keys' last dim must equal k + block_size - 1",
                  r.ref(un, 3, "union_keys"), s.getKAttr().getInt() + bq - 1);
      })
      .Case([&](GatheredAttentionOp g) {
        r.attention(g.getQ(), g.getKey(), g.getValue(), g.getU(), g.getOut());
        Value idx = g.getIndices(), tau = g.getTau(), q = g.getQ(),
              key = g.getKey();
        r.equal("batch", r.ref(q, 0, "q"), r.ref(idx, 0, "indices"));
        r.equal("batch", r.ref(q, 0, "q"), r.ref(tau, 0, "tau"));
        r.equal("KV heads", r.ref(key, 1, "key"), r.ref(idx, 1, "indices"));
        r.equal("KV heads", r.ref(key, 1, "key"), r.ref(tau, 1, "tau"));
        r.equal("query length", r.ref(q, 2, "q"), r.ref(idx, 2, "indices"));
        r.equal("query length", r.ref(q, 2, "q"), r.ref(tau, 2, "tau"));
        r.atLeast("'indices' last dim (k)", r.ref(idx, 3, "indices"), 1);
      })
      .Case([&](AttentionOp a) {
        r.attention(a.getQ(), a.getKey(), a.getValue(), a.getU(), a.getOut());
        if (Value lse = a.getLse())
          r.lse(a.getQ(), lse);
      })
      .Case([&](BlockAttentionOp a) {
        r.attention(a.getQ(), a.getKey(), a.getValue(), a.getU(), a.getOut());
        r.blockSelection(a.getQ(), a.getKey(), a.getKthScore(),
                         a.getKthIndex(), a.getTau(), a.getUnionKeys(),
                         a.getUnionCount(), a.getBlockSizeAttr().getInt());
        if (Value lse = a.getLse())
          r.lse(a.getQ(), lse);
      })
      .Case([&](DecodePrefillOp p) {
        Value key = p.getKey(), value = p.getValue(), u = p.getU(),
              len = p.getPromptLengths();
        auto K = [&](unsigned d) { return r.ref(key, d, "key"); };
        r.equal("batch", K(0), r.ref(value, 0, "value"));
        r.equal("batch", K(0), r.ref(u, 0, "u"));
        r.equal("batch", K(0), r.ref(len, 0, "prompt_lengths"));
        r.equal("KV heads", K(1), r.ref(value, 1, "value"));
        r.equal("KV heads", K(1), r.ref(u, 1, "u"));
        r.equal("prompt length", K(2), r.ref(value, 2, "value"));
        r.equal("prompt length", K(2), r.ref(u, 2, "u"));
        r.atLeast("head dim D ('key' dim 3)", K(3), 1);
        r.atLeast("value head dim Dv ('value' dim 3)", r.ref(value, 3, "value"),
                  1);
        r.decodeState(p.getDpsInits(), K(0), K(1), K(3),
                      r.ref(value, 3, "value"), p.getKAttr().getInt(),
                      p.getWindowAttr().getInt());
      })
      .Case([&](DecodeStepOp s) {
        Value q = s.getQ(), key = s.getKey(), value = s.getValue();
        // One query and one token per step, before the layer's rules.
        r.equalTo("'q' dim 2 (queries per step)", r.ref(q, 2, "q"), 1);
        r.equalTo("'key' dim 2 (tokens per step)", r.ref(key, 2, "key"), 1);
        r.attention(q, key, value, s.getU(), s.getOutInit());
        r.decodeState(s.getDpsInits().drop_front(), r.ref(q, 0, "q"),
                      r.ref(key, 1, "key"), r.ref(key, 3, "key"),
                      r.ref(value, 3, "value"), s.getKAttr().getInt(),
                      s.getWindowAttr().getInt());
      })
      .Case([&](AttentionBackwardOp a) {
        r.backward(a.getQ(), a.getKey(), a.getValue(), a.getU(), a.getOut(),
                   a.getDout(), a.getDq(), a.getDkey(), a.getDvalue(),
                   a.getDu());
        if (Value lse = a.getLse())
          r.lse(a.getQ(), lse);
      })
      .Case([&](BlockAttentionBackwardOp a) {
        r.backward(a.getQ(), a.getKey(), a.getValue(), a.getU(), a.getOut(),
                   a.getDout(), a.getDq(), a.getDkey(), a.getDvalue(),
                   a.getDu());
        r.lse(a.getQ(), a.getLse());
        r.blockSelection(a.getQ(), a.getKey(), a.getKthScore(),
                         a.getKthIndex(), a.getTau(), a.getUnionKeys(),
                         a.getUnionCount(), a.getBlockSizeAttr().getInt());
      });
  return std::move(r.list);
}

LogicalResult mlir::sparsek::verifyStaticShapeConstraints(Operation *op) {
  for (const ShapeConstraint &c : getShapeConstraints(op)) {
    int64_t x = c.a.staticSize(), y = c.b.staticSize();
    if (ShapedType::isDynamic(x) || ShapedType::isDynamic(y))
      continue;
    if (!c.holds(x, y))
      return op->emitOpError() << c.message(x, y);
  }
  return success();
}
