//===- SparseKDialect.td - sparsek dialect definition ------*- tablegen -*-===//
//
// The `sparsek` dialect: SparseK attention (Lou, Jia, Zheng, Tu, 2024) as
// tensor-level ops. Semantics are fixed by docs/Semantics.md.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_DIALECT_SPARSEK_IR_SPARSEKDIALECT_TD
#define SPARSEK_DIALECT_SPARSEK_IR_SPARSEKDIALECT_TD

include "mlir/IR/OpBase.td"

def SparseK_Dialect : Dialect {
  let name = "sparsek";
  let cppNamespace = "::mlir::sparsek";
  let summary = "SparseK attention: scoring, SPARSEK masks, selection, gathered attention";
  let description = [{
    SparseK attention gives every key/value (KV) pair a query-independent
    score from a small scoring network, turns the scores into a soft top-k
    mask with the differentiable SPARSEK operator (a Euclidean projection onto
    the capped simplex), and lets each causal query attend to a constant
    number of KV pairs: the `k` selected ones plus a sliding window of the `w`
    most recent ones. Attention then costs `O(N (k + w) D)` instead of
    `O(N M D)`.

    The dialect has one op per stage of the layer and one op for the whole
    layer:

    | op | Semantics section | computes |
    | --- | --- | --- |
    | `sparsek.score` | 1 | KV scores `u` from features |
    | `sparsek.mask` | 2 | SPARSEK(z, k) along the last dimension |
    | `sparsek.threshold` | 3 | causal per-query thresholds `tau_i` |
    | `sparsek.topk` | 4 | per-query selected KV indices |
    | `sparsek.gathered_attention` | 5 | attention over window + selection |
    | `sparsek.attention` | 6 | the whole layer |

    All ops have value semantics (tensors in, tensors out) and accept dynamic
    dimensions. Layouts: `q : [B, Hq, N, D]`, `key : [B, Hkv, M, D]`,
    `value : [B, Hkv, M, Dv]`, scores `u : [B, Hkv, M]`; query `i` sits at
    absolute position `p(i) = i + M - N`. q/key/value/output element types
    are f32, f16 or bf16 (accumulation in f32); scores and thresholds are f32.

    No lowering of these ops materialises an `N x M` tensor or does `O(N M)`
    work (section 7 of `docs/Semantics.md`).
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

class SparseK_Op<string mnemonic, list<Trait> traits = []>
    : Op<SparseK_Dialect, mnemonic, traits>;

#endif // SPARSEK_DIALECT_SPARSEK_IR_SPARSEKDIALECT_TD
