//===- SparseKOps.td - sparsek operations ------------------*- tablegen -*-===//
//
// One op per Semantics section. Operand/result order and attribute names are a
// public contract (docs/Semantics.md); pretty formats are ours.
//
// ODS constrains operands only to ranked tensors: rank, element type and
// shape relations are checked by the C++ verifiers (SparseKOps.cpp) so that
// every diagnostic can name the operand and the rule it breaks
// (docs/Semantics.md section 8).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_DIALECT_SPARSEK_IR_SPARSEKOPS_TD
#define SPARSEK_DIALECT_SPARSEK_IR_SPARSEKOPS_TD

include "sparsek/Dialect/SparseK/IR/SparseKDialect.td"
include "sparsek/Dialect/SparseK/IR/SparseKAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.td"
include "mlir/IR/BuiltinAttributes.td"

//===----------------------------------------------------------------------===//
// sparsek.score (Semantics section 1)
//===----------------------------------------------------------------------===//

def SparseK_ScoreOp : SparseK_Op<"score", [Pure]> {
  let summary = "query-independent KV scores from a linear scoring network";
  let description = [{
    Implements section 1 of `docs/Semantics.md`. For features `x : [B, M, C]`, weights
    `w_score : [Hkv, C]` and an optional `bias : [Hkv]`:

        u[b, h, j] = sum_c x[b, j, c] * w_score[h, c] + bias[h] + slope * j

    `x`, `w_score` and `bias` may be f32, f16 or bf16; the sum accumulates in
    f32 and `u : [B, Hkv, M]` is f32. The position `slope` (default 0) lets
    later tokens compete with earlier ones.

    Example:

    ```mlir
    %u = sparsek.score %x, %w bias %b {slope = 0.01 : f64}
         : (tensor<2x4096x1024xbf16>, tensor<2x1024xbf16>, tensor<2xf32>)
           -> tensor<2x2x4096xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$w_score,
                       Optional<AnyRankedTensor>:$bias,
                       DefaultValuedAttr<F64Attr, "0.0">:$slope);
  let results = (outs AnyRankedTensor:$u);
  let assemblyFormat = [{
    $x `,` $w_score (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// sparsek.mask (Semantics section 2)
//===----------------------------------------------------------------------===//

def SparseK_MaskOp : SparseK_Op<"mask", [Pure]> {
  let summary = "SPARSEK projection onto the capped simplex along the last dim";
  let description = [{
    Implements section 2 of `docs/Semantics.md`. For every vector `z` along the last dimension
    (length `n`), computes

        SPARSEK(z, k) = argmin_{p in C} ||p - z||^2,
        C = { p : 0 <= p <= 1, sum(p) = k }

    whose solution is `p_j = clip(z_j - tau, 0, 1)`. Results: the soft mask
    `p` (same shape as `z`) and the threshold `tau` (the leading dimensions
    of `z`). Conventions: entries of `-inf` never count, so `tau = -inf`
    when at most `k` entries are above `-inf` (`n <= k` among those cases),
    and then `p = 1` everywhere; if several `tau` solve `sum p = k`, `tau`
    is the smallest. `tau` is exact for any finite scores, however far
    apart. For `k = 1` this is sparsemax. All tensors are f32; `z` has rank
    1 or more.

    Example:

    ```mlir
    %p, %tau = sparsek.mask %z k = 4 : (tensor<8x128xf32>)
               -> (tensor<8x128xf32>, tensor<8xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$z, I64Attr:$k);
  let results = (outs AnyRankedTensor:$p, AnyRankedTensor:$tau);
  let assemblyFormat = [{
    $z `k` `=` $k attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// sparsek.threshold (Semantics section 3)
//===----------------------------------------------------------------------===//

def SparseK_ThresholdOp : SparseK_Op<"threshold", [Pure]> {
  let summary = "causal per-query SPARSEK thresholds over the candidate prefix";
  let description = [{
    Implements section 3 of `docs/Semantics.md`. Query `i` sits at `p(i) = i + M - N`; its
    window is `W_i = { j : p(i) - w < j <= p(i) }` and its candidates are the
    earlier keys `C_i = { j : 0 <= j <= p(i) - w }`. The result is
    `tau[b, h, i] = tau(u[b, h, C_i], k)` with the conventions of
    `sparsek.mask` (so `-inf` while at most `k` candidates score above
    `-inf`). A dynamic `N` in the result type cannot be lowered.

    `u : [B, Hkv, M]` and `tau : [B, Hkv, N]` are f32; `N` is given by the
    result type and must not exceed `M`. Thresholds never decrease along
    `i`, which lowerings use to evaluate them incrementally in
    `O(M log M)` per (batch, head).

    Example:

    ```mlir
    %tau = sparsek.threshold %u k = 64, window = 512
           : (tensor<1x2x4096xf32>) -> tensor<1x2x4096xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$u, I64Attr:$k, I64Attr:$window);
  let results = (outs AnyRankedTensor:$tau);
  let assemblyFormat = [{
    $u `k` `=` $k `,` `window` `=` $window attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// sparsek.topk (Semantics section 4)
//===----------------------------------------------------------------------===//

def SparseK_TopKOp : SparseK_Op<"topk", [Pure]> {
  let summary = "causal per-query top-k selection of candidate KV indices";
  let description = [{
    Implements section 4 of `docs/Semantics.md`. `S_i` holds the `min(k, |C_i|)` candidates of
    `C_i` (see `sparsek.threshold`) with the largest scores; ties go to the
    larger (more recent) index. Every member of `S_i` has `u_j > tau_i`.

    `u : [B, Hkv, M]` is f32; the result `indices : [B, Hkv, N, k]` is i32,
    each row sorted by descending score and padded with -1 where
    `|C_i| < k`. The last result dimension must equal `k`.

    Example:

    ```mlir
    %idx = sparsek.topk %u k = 64, window = 512
           : (tensor<1x2x4096xf32>) -> tensor<1x2x4096x64xi32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$u, I64Attr:$k, I64Attr:$window);
  let results = (outs AnyRankedTensor:$indices);
  let assemblyFormat = [{
    $u `k` `=` $k `,` `window` `=` $window attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// sparsek.block_select (internal: what fused attention needs from selection)
//===----------------------------------------------------------------------===//

def SparseK_BlockSelectOp : SparseK_Op<"block_select", [Pure]> {
  let summary = "per-query k-th candidate and threshold, per-block selection unions";
  let description = [{
    An internal op of the fused path: everything the attention of a block
    of `block_size` consecutive queries needs from the causal selection of
    sections 3 and 4 of `docs/Semantics.md`, without the `[B, Hkv, N, k]`
    indices of `sparsek.topk`. For `u : [B, Hkv, M]` (f32) and `N` queries
    (from the result types), per (batch, KV head) row:

    - `kth_score`, `kth_index : [B, Hkv, N]` (f32, i32): the k-th best
      candidate of `C_i` as a (score, index) pair, or `(-inf, -1)` while
      `C_i` has fewer than `k` candidates. Key `j` is in `S_i` exactly when
      `j <= p(i) - window` and `(u_j, j) >= (kth_score_i, kth_index_i)`
      lexicographically (ties go to the larger index): a test cheap enough
      to evaluate per (query, key) pair inside an attention tile.
    - `tau : [B, Hkv, N]` (f32): the thresholds of `sparsek.threshold`.
    - `union_keys : [B, Hkv, NB, k + block_size - 1]` (i32) with
      `NB = ceil(N / block_size)`: the union of the selections `S_i` of the
      block's queries, each key once, in ascending index order, padded with
      -1; `union_count : [B, Hkv, NB]` (i32) its length. Consecutive
      queries' selections differ by at most one key, so the union holds at
      most `k + block_size - 1` keys.

    `N` comes from the result types; when it is dynamic, the optional
    index operand `queries` gives it (required then, and only then). It
    must be in `[0, M]`: a constant outside is rejected, a run-time value
    outside is clamped to that range by the lowerings (no out-of-bounds
    access; the result sizes follow the clamped N).

    Example:

    ```mlir
    %kth_s, %kth_i, %tau, %union, %count =
        sparsek.block_select %u k = 256, window = 512, block_size = 64
        : (tensor<1x2x4096xf32>)
          -> (tensor<1x2x4096xf32>, tensor<1x2x4096xi32>, tensor<1x2x4096xf32>,
              tensor<1x2x64x319xi32>, tensor<1x2x64xi32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$u, Optional<Index>:$queries,
                       I64Attr:$k, I64Attr:$window, I64Attr:$block_size);
  let results = (outs AnyRankedTensor:$kth_score, AnyRankedTensor:$kth_index,
                      AnyRankedTensor:$tau, AnyRankedTensor:$union_keys,
                      AnyRankedTensor:$union_count);
  let assemblyFormat = [{
    $u (`queries` `=` $queries^)? `k` `=` $k `,` `window` `=` $window `,`
    `block_size` `=` $block_size attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The result types for scores of type `uType` ([B, Hkv, M]), `n`
    /// queries (static or dynamic), `k` and `blockSize`.
    static ::llvm::SmallVector<::mlir::Type, 5>
    getResultTypesFor(::mlir::RankedTensorType uType, int64_t n, int64_t k,
                      int64_t blockSize);
    /// The `k` a block selection of a layer with `k` over scores of type
    /// `uType` uses: `min(k, M)` when M is static (a query never has more
    /// than M candidates, and with at most k of them all are selected with
    /// weight 1, so the result is the same), else `k`; nullopt when that
    /// leaves the union's width `k + blockSize - 1` above 2^30 (an i32
    /// count with room; the verifier bounds k and blockSize by 2^30 each),
    /// where callers keep the unfused lowering.
    static ::std::optional<int64_t>
    selectionK(::mlir::RankedTensorType uType, int64_t k, int64_t blockSize);
  }];
}

//===----------------------------------------------------------------------===//
// sparsek.gathered_attention (Semantics section 5)
//===----------------------------------------------------------------------===//

def SparseK_GatheredAttentionOp
    : SparseK_Op<"gathered_attention", [Pure]> {
  let summary = "attention of each query over its window plus its selected keys";
  let description = [{
    Implements section 5 of `docs/Semantics.md`. Query `i` attends to `A_i = W_i ∪ S_i` only,
    where `W_i` is its sliding window of `window` keys and `S_i` the entries
    of `indices[b, h, i, :]` in `[0, M)`; the `-1` padding and any other
    out-of-range entry add nothing, and an entry inside the window counts
    once, as a window key. Rows are expected to list distinct keys, as
    `sparsek.topk` produces them; an entry repeated within a row counts each
    time (detecting repeats would cost `O(k^2)` per query). Gate weights
    are `m_ij = 1` on the window and `m_ij = clip(u_j - tau_i, 0, 1)` on the
    selection (a key in both counts once, with weight 1). With
    `s = scale` (default `1/sqrt(D)`), logits and values follow `gate`:

    | `gate` | logit `l_ij` | value used |
    | --- | --- | --- |
    | `kv` (default) | `s * m_ij * dot(q_i, key_j)` | `m_ij * value_j` |
    | `v` | `s * dot(q_i, key_j)` | `m_ij * value_j` |
    | `logit` | `s * dot(q_i, key_j) + log(m_ij)` | `value_j` |
    | `none` | `s * dot(q_i, key_j)` | `value_j` (hard top-k) |

        out_i = sum_{j in A_i} softmax_{A_i}(l_i)_j * value'_j

    Query head `h` reads KV head `h / (Hq / Hkv)` (GQA/MQA). Operands:
    `q : [B, Hq, N, D]`, `key : [B, Hkv, M, D]`, `value : [B, Hkv, M, Dv]`
    (f32, f16 or bf16, one type), `u : [B, Hkv, M]` (f32),
    `indices : [B, Hkv, N, k]` (i32), `tau : [B, Hkv, N]` (f32). Result
    `out : [B, Hq, N, Dv]` in the element type of `q`; accumulation is f32.

    Example:

    ```mlir
    %o = sparsek.gathered_attention %q, %key, %value, %u, %idx, %tau
           window = 512 {gate = #sparsek.gate<v>}
         : (tensor<1x8x4096x128xbf16>, tensor<1x2x4096x128xbf16>,
            tensor<1x2x4096x128xbf16>, tensor<1x2x4096xf32>,
            tensor<1x2x4096x64xi32>, tensor<1x2x4096xf32>)
           -> tensor<1x8x4096x128xbf16>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$key,
                       AnyRankedTensor:$value, AnyRankedTensor:$u,
                       AnyRankedTensor:$indices, AnyRankedTensor:$tau,
                       I64Attr:$window,
                       OptionalAttr<F64Attr>:$scale,
                       DefaultValuedAttr<SparseK_GateAttr, "::mlir::sparsek::Gate::kv">:$gate);
  let results = (outs AnyRankedTensor:$out);
  let assemblyFormat = [{
    $q `,` $key `,` $value `,` $u `,` $indices `,` $tau `window` `=` $window
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The softmax scale when it is known at compile time: the `scale`
    /// attribute, or 1/sqrt(D) for a static D; none for a dynamic D.
    std::optional<double> getStaticScale();
  }];
}

//===----------------------------------------------------------------------===//
// sparsek.block_attention (internal: the fused path)
//===----------------------------------------------------------------------===//

def SparseK_BlockAttentionOp : SparseK_Op<"block_attention", [Pure]> {
  let summary = "causal attention of blocks of queries over their window run and selection union";
  let description = [{
    An internal op of the fused path (`sparsek-fuse-attention` produces it
    from a causal `sparsek.attention`, with the `sparsek.block_select`
    that feeds it): the causal layer's attention of section 6 of
    `docs/Semantics.md`, organised by blocks of `block_size` consecutive
    queries that share their keys. Block `b` (queries `[b * block_size,
    (b + 1) * block_size)`) reads the contiguous run of window keys of its
    queries and the `union_count[b]` keys of `union_keys[b]`; query `i`
    (position `p = i + M - N`, `c_i = clamp(p - window + 1, 0, M)`) keeps
    of them
    - the window `[c_i, p]` (weight 1), and
    - the selected keys `j < c_i` of the union with `(u_j, j) >=
      (kth_score_i, kth_index_i)` lexicographically, or every `j < c_i`
      when `kth_index_i = -1` (fewer than `k` candidates), weighted
      `clip(u_j - tau_i, 0, 1)` as in `sparsek.gathered_attention`;
    with gate, scale and GQA as in `sparsek.attention`. Given the results of
    `sparsek.block_select` over the same `u`, `k`, `window` and
    `block_size`, the output equals `sparsek.attention`'s. Every query of a
    block walks the same key sequence (the GPU lowering's loads are
    uniform across a block's threads); `block_size` is the kernel's query
    tile.

    Operands: `q : [B, Hq, N, D]`, `key : [B, Hkv, M, D]`, `value : [B,
    Hkv, M, Dv]` (f32, f16 or bf16, one type), `u : [B, Hkv, M]`,
    `kth_score`, `tau : [B, Hkv, N]` (f32), `kth_index : [B, Hkv, N]`
    (i32), `union_keys : [B, Hkv, NB, W]`, `union_count : [B, Hkv, NB]`
    (i32), `NB = ceil(N / block_size)`. Result `out : [B, Hq, N, Dv]`,
    and optionally every query's log-sum-exp `lse : [B, Hq, N]` (f32), as
    the second result of `sparsek.attention` (training's forward in block
    form: `sparsek.block_attention_backward` takes it with the selection).

    Example:

    ```mlir
    %o = sparsek.block_attention %q, %key, %value, %u, %kth_s, %kth_i, %tau,
           %union, %count window = 512, block_size = 128
         : (tensor<1x8x4096x128xbf16>, tensor<1x2x4096x128xbf16>,
            tensor<1x2x4096x128xbf16>, tensor<1x2x4096xf32>,
            tensor<1x2x4096xf32>, tensor<1x2x4096xi32>, tensor<1x2x4096xf32>,
            tensor<1x2x32x383xi32>, tensor<1x2x32xi32>)
           -> tensor<1x8x4096x128xbf16>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$key,
                       AnyRankedTensor:$value, AnyRankedTensor:$u,
                       AnyRankedTensor:$kth_score, AnyRankedTensor:$kth_index,
                       AnyRankedTensor:$tau, AnyRankedTensor:$union_keys,
                       AnyRankedTensor:$union_count,
                       I64Attr:$window, I64Attr:$block_size,
                       OptionalAttr<F64Attr>:$scale,
                       DefaultValuedAttr<SparseK_GateAttr, "::mlir::sparsek::Gate::kv">:$gate);
  let results = (outs AnyRankedTensor:$out, Optional<AnyRankedTensor>:$lse);
  let assemblyFormat = [{
    $q `,` $key `,` $value `,` $u `,` $kth_score `,` $kth_index `,` $tau `,`
    $union_keys `,` $union_count `window` `=` $window `,` `block_size` `=`
    $block_size attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// As for sparsek.attention.
    std::optional<double> getStaticScale();
  }];
}

//===----------------------------------------------------------------------===//
// sparsek.attention (Semantics section 6)
//===----------------------------------------------------------------------===//

def SparseK_AttentionOp : SparseK_Op<"attention", [Pure]> {
  let summary = "the whole SparseK attention layer";
  let description = [{
    Implements section 6 of `docs/Semantics.md`: what a framework emits. With `causal = true`
    (default) it is exactly `sparsek.threshold` + `sparsek.topk` +
    `sparsek.gathered_attention` (Semantics sections 3 to 5; the
    `sparsek-decompose` pass performs that split). With `causal = false`
    every key is a candidate for every query, `window` must be 0, and one
    threshold and one selection over all `M` keys serve all queries.

    Operands `q : [B, Hq, N, D]`, `key : [B, Hkv, M, D]`,
    `value : [B, Hkv, M, Dv]` (f32, f16 or bf16, one type) and
    `u : [B, Hkv, M]` (f32); result `[B, Hq, N, Dv]`. Attributes: `k`,
    `window`, `causal`, `scale` (default `1/sqrt(D)`), `gate` (default `kv`).

    Example (generic form, as in Semantics section 6):

    ```mlir
    %o = "sparsek.attention"(%q, %key, %value, %u)
           {k = 64 : i64, window = 512 : i64, gate = #sparsek.gate<v>}
         : (tensor<1x8x4096x128xbf16>, tensor<1x2x4096x128xbf16>,
            tensor<1x2x4096x128xbf16>, tensor<1x2x4096xf32>) -> tensor<1x8x4096x128xbf16>
    ```

    The same in the custom form:

    ```mlir
    %o = sparsek.attention %q, %key, %value, %u k = 64, window = 512
           {gate = #sparsek.gate<v>}
         : (tensor<1x8x4096x128xbf16>, tensor<1x2x4096x128xbf16>,
            tensor<1x2x4096x128xbf16>, tensor<1x2x4096xf32>) -> tensor<1x8x4096x128xbf16>
    ```

    An optional second result (an extension for training, causal layers
    only) is the log-sum-exp of every query's softmax, `lse : [B, Hq, N]`
    (f32): `lse_i = log sum_{j in A_i} exp(z_ij)` over the gated logits
    `z_ij` of section 5 (natural log), `-inf` for a query that attends to
    nothing. `sparsek.attention_backward` takes it as its optional `lse`
    operand, so the backward need not find every row's softmax again:

    ```mlir
    %o, %lse = sparsek.attention %q, %key, %value, %u k = 64, window = 512
         : (tensor<1x8x4096x128xbf16>, tensor<1x2x4096x128xbf16>,
            tensor<1x2x4096x128xbf16>, tensor<1x2x4096xf32>)
           -> (tensor<1x8x4096x128xbf16>, tensor<1x8x4096xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$key,
                       AnyRankedTensor:$value, AnyRankedTensor:$u,
                       I64Attr:$k, I64Attr:$window,
                       DefaultValuedAttr<BoolAttr, "true">:$causal,
                       OptionalAttr<F64Attr>:$scale,
                       DefaultValuedAttr<SparseK_GateAttr, "::mlir::sparsek::Gate::kv">:$gate);
  let results = (outs AnyRankedTensor:$out, Optional<AnyRankedTensor>:$lse);
  let assemblyFormat = [{
    $q `,` $key `,` $value `,` $u `k` `=` $k `,` `window` `=` $window
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The softmax scale when it is known at compile time: the `scale`
    /// attribute, or 1/sqrt(D) for a static D; none for a dynamic D.
    std::optional<double> getStaticScale();
  }];
}

//===----------------------------------------------------------------------===//
// sparsek.attention_backward (Semantics section 9)
//===----------------------------------------------------------------------===//

def SparseK_AttentionBackwardOp : SparseK_Op<"attention_backward", [Pure]> {
  let summary = "gradients of the whole SparseK layer";
  let description = [{
    Implements section 9 of `docs/Semantics.md`: the gradients of
    `sparsek.attention` (same attributes) with respect to `q`, `key`,
    `value` and the scores `u`, given the forward result `out` and
    `dout = dL/dout` (both `[B, Hq, N, Dv]`). Which keys are selected gets
    no gradient; everything else is differentiated exactly, including the
    threshold's dependence on every fractional candidate of the SPARSEK
    mask. Results: `dq : [B, Hq, N, D]`, `dkey : [B, Hkv, M, D]`,
    `dvalue : [B, Hkv, M, Dv]` (element types of `q`, `key`, `value`) and
    `du : [B, Hkv, M]` (f32). Accumulation is f32.

    The optional operand `lse : [B, Hq, N]` (f32, causal layers only) is
    the forward's log-sum-exp (the second result of `sparsek.attention`
    over the same operands and attributes). Given it, a lowering may use it
    instead of finding every row's softmax again (the GPU kernel skips its
    first sweep; the CPU lowering recomputes); the results are those of the
    op without it. An `lse` that is not the forward's gives unspecified
    (finite or not) gradients, never out-of-bounds accesses.

    The unit attribute `deterministic` asks for results that are bitwise
    identical from run to run on the same inputs and device. The CPU
    lowering always is; the GPU kernel's default adds `dkey`, `dvalue` and
    `du` with floating-point atomics (reductions into f32 buffers, whose
    order varies run to run), and with `deterministic` writes per-chunk
    partial sums instead and adds them in a fixed order (no floating-point
    atomics; slower, and scratch memory of about twice the f32 gradients).

    Example:

    ```mlir
    %dq, %dk, %dv, %du = sparsek.attention_backward %q, %key, %value, %u, %out, %dout
        k = 64, window = 128
        : (tensor<1x8x1024x64xbf16>, tensor<1x2x1024x64xbf16>,
           tensor<1x2x1024x64xbf16>, tensor<1x2x1024xf32>,
           tensor<1x8x1024x64xbf16>, tensor<1x8x1024x64xbf16>)
          -> (tensor<1x8x1024x64xbf16>, tensor<1x2x1024x64xbf16>,
              tensor<1x2x1024x64xbf16>, tensor<1x2x1024xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$key,
                       AnyRankedTensor:$value, AnyRankedTensor:$u,
                       AnyRankedTensor:$out, AnyRankedTensor:$dout,
                       Optional<AnyRankedTensor>:$lse,
                       I64Attr:$k, I64Attr:$window,
                       DefaultValuedAttr<BoolAttr, "true">:$causal,
                       OptionalAttr<F64Attr>:$scale,
                       DefaultValuedAttr<SparseK_GateAttr, "::mlir::sparsek::Gate::kv">:$gate,
                       UnitAttr:$deterministic);
  let results = (outs AnyRankedTensor:$dq, AnyRankedTensor:$dkey,
                      AnyRankedTensor:$dvalue, AnyRankedTensor:$du);
  let assemblyFormat = [{
    $q `,` $key `,` $value `,` $u `,` $out `,` $dout (`lse` $lse^)? `k` `=` $k `,` `window` `=` $window
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The softmax scale when it is known at compile time (see
    /// sparsek.attention).
    std::optional<double> getStaticScale();
  }];
}

//===----------------------------------------------------------------------===//
// sparsek.block_attention_backward (internal: training's pair in block form)
//===----------------------------------------------------------------------===//

def SparseK_BlockAttentionBackwardOp
    : SparseK_Op<"block_attention_backward", [Pure]> {
  let summary = "gradients of the causal layer given the forward's log-sum-exp and block selection";
  let description = [{
    An internal op of training's pair in block form: the gradients of
    `sparsek.attention_backward` (causal; Semantics section 9) given what
    the forward already built, so the backward neither finds every row's
    softmax nor selects again. A framework's forward runs
    `sparsek.block_select` and `sparsek.block_attention` (with its `lse`
    result) and keeps the selection's five tensors with the log-sum-exp;
    its backward passes them here.

    Operands: `q`, `key`, `value`, `u`, `out`, `dout`, `lse` as for
    `sparsek.attention_backward` (`lse` required), then the results of
    `sparsek.block_select` over `u` with this op's `k`, `window` and
    `block_size` (`kth_score`, `kth_index`, `tau : [B, Hkv, N]`,
    `union_keys : [B, Hkv, NB, W]`, `union_count : [B, Hkv, NB]`). Results
    `dq`, `dkey`, `dvalue`, `du` as for `sparsek.attention_backward` with
    the same operands and attributes. When the selection operands are not
    that block selection (or `lse` not the forward's), the gradients are
    unspecified (finite or not), never out-of-bounds accesses. A lowering
    may use the selection or build it again: the GPU kernel uses it, the
    CPU lowering (`sparsek.attention_backward` given `lse`) selects again.
    There is no `deterministic` form: a deterministic backward is
    `sparsek.attention_backward {deterministic}`.

    Example:

    ```mlir
    %dq, %dk, %dv, %du = sparsek.block_attention_backward %q, %key, %value,
        %u, %out, %dout, %lse, %kth_s, %kth_i, %tau, %union, %count
        k = 64, window = 128, block_size = 32
        : (tensor<1x8x1024x64xbf16>, tensor<1x2x1024x64xbf16>,
           tensor<1x2x1024x64xbf16>, tensor<1x2x1024xf32>,
           tensor<1x8x1024x64xbf16>, tensor<1x8x1024x64xbf16>,
           tensor<1x8x1024xf32>, tensor<1x2x1024xf32>, tensor<1x2x1024xi32>,
           tensor<1x2x1024xf32>, tensor<1x2x32x95xi32>, tensor<1x2x32xi32>)
          -> (tensor<1x8x1024x64xbf16>, tensor<1x2x1024x64xbf16>,
              tensor<1x2x1024x64xbf16>, tensor<1x2x1024xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$key,
                       AnyRankedTensor:$value, AnyRankedTensor:$u,
                       AnyRankedTensor:$out, AnyRankedTensor:$dout,
                       AnyRankedTensor:$lse,
                       AnyRankedTensor:$kth_score, AnyRankedTensor:$kth_index,
                       AnyRankedTensor:$tau, AnyRankedTensor:$union_keys,
                       AnyRankedTensor:$union_count,
                       I64Attr:$k, I64Attr:$window, I64Attr:$block_size,
                       OptionalAttr<F64Attr>:$scale,
                       DefaultValuedAttr<SparseK_GateAttr, "::mlir::sparsek::Gate::kv">:$gate);
  let results = (outs AnyRankedTensor:$dq, AnyRankedTensor:$dkey,
                      AnyRankedTensor:$dvalue, AnyRankedTensor:$du);
  let assemblyFormat = [{
    $q `,` $key `,` $value `,` $u `,` $out `,` $dout `,` $lse `,` $kth_score
    `,` $kth_index `,` $tau `,` $union_keys `,` $union_count `k` `=` $k `,`
    `window` `=` $window `,` `block_size` `=` $block_size
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// As for sparsek.attention.
    std::optional<double> getStaticScale();
  }];
}

//===----------------------------------------------------------------------===//
// sparsek.decode_prefill and sparsek.decode_step (Semantics section 10)
//===----------------------------------------------------------------------===//

def SparseK_DecodePrefillOp : SparseK_Op<"decode_prefill", [Pure,
    DestinationStyleOpInterface,
    AllTypesMatch<["keys_init", "keys"]>, AllTypesMatch<["values_init", "values"]>,
    AllTypesMatch<["scores_init", "scores"]>,
    AllTypesMatch<["positions_init", "positions"]>,
    AllTypesMatch<["band_scores_init", "band_scores"]>,
    AllTypesMatch<["band_positions_init", "band_positions"]>,
    AllTypesMatch<["threshold_init", "threshold"]>,
    AllTypesMatch<["counts_init", "counts"]>,
    AllTypesMatch<["lengths_init", "lengths"]>]> {
  let summary = "the decode state of a prompt (constant key/value memory)";
  let description = [{
    Implements the prefill of section 10 of `docs/Semantics.md`: the state
    after sequence `b` has seen its prompt, the first `prompt_lengths[b]`
    tokens (clamped to `[0, P]`) of `key : [B, Hkv, P, D]`,
    `value : [B, Hkv, P, Dv]` and `u : [B, Hkv, P]` (f32), without
    attending (the prompt's outputs are `sparsek.attention`'s): the window
    holds its last `window` tokens, the selection the top `k` of the
    earlier candidates (ties to the later one), the threshold is the exact
    SPARSEK threshold of the prompt's last token, and the band every other
    candidate above it (its highest scores if more than `Cb`, recording the
    overflow). Without an overflow this is the state that
    `prompt_lengths[b]` calls of `sparsek.decode_step` from an empty state
    would have built; a zero-length prompt gives the empty state. Every
    element of the state is written (the inits' contents are not read).

    The decode state (section 10 of `docs/Semantics.md`) is nine dense
    tensors of static layout, allocated once by the framework and updated
    in place (destination-passing style: every result is tied to the init
    operand of the same name and type). With `S = k + window` slots and
    `L = k + Cb + 1` band entries (`Cb` the band capacity):

    | tensor | shape, type | holds |
    | --- | --- | --- |
    | `keys` | `[B, Hkv, S, D]`, the K/V element type | slots `0..k-1`: the selection, any order; slot `k + p mod window`: the window token at position `p` |
    | `values` | `[B, Hkv, S, Dv]` | the same slots' values |
    | `scores` | `[B, Hkv, S]` f32 | the slots' scores |
    | `positions` | `[B, Hkv, S]` i32 | the slots' positions, -1 when empty |
    | `band_scores` | `[B, Hkv, 2, L]` f32 | two min-heaps of every candidate scoring above the threshold (selected or not): row 0 those at least 1 above it, row 1 the others |
    | `band_positions` | `[B, Hkv, 2, L]` i32 | their positions (the heaps' tie-break) |
    | `threshold` | `[B, Hkv, 3]` f64 | `tau`, and the exact fractional sum `sum (u - A)` of row 1 around the anchor `A` (stored as `tau, A, sum`) |
    | `counts` | `[B, Hkv, 3]` i32 | the two heaps' sizes, and 1 once the band overflowed |
    | `lengths` | `[B]` i32 | tokens seen per sequence |

    Nothing in it grows with the sequence: `(k + window) (D + Dv)` elements,
    `8 (k + window) + 16 L + 36` bytes per (batch, KV head), and 4 per
    sequence. The band heaps keep the threshold exact while at most `Cb`
    candidates outside the selection score above it; beyond that the
    lowest are dropped, the overflow flag is set, and later thresholds are
    lower bounds of the exact ones.

    Example:

    ```mlir
    %keys, %values, %scores, %pos, %bs, %bp, %thr, %cnt, %len =
      sparsek.decode_prefill %key, %value, %u, %plen
        into %k0, %v0, %s0, %p0, %bs0, %bp0, %t0, %c0, %l0 k = 4, window = 8
        : tensor<2x2x100x64xbf16>, tensor<2x2x100x64xbf16>, tensor<2x2x100xf32>,
          tensor<2xi32>
        into tensor<2x2x12x64xbf16>, tensor<2x2x12x64xbf16>, tensor<2x2x12xf32>,
          tensor<2x2x12xi32>, tensor<2x2x2x69xf32>, tensor<2x2x2x69xi32>,
          tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$key, AnyRankedTensor:$value,
                       AnyRankedTensor:$u, AnyRankedTensor:$prompt_lengths,
                       AnyRankedTensor:$keys_init, AnyRankedTensor:$values_init,
                       AnyRankedTensor:$scores_init,
                       AnyRankedTensor:$positions_init,
                       AnyRankedTensor:$band_scores_init,
                       AnyRankedTensor:$band_positions_init,
                       AnyRankedTensor:$threshold_init,
                       AnyRankedTensor:$counts_init,
                       AnyRankedTensor:$lengths_init,
                       I64Attr:$k, I64Attr:$window);
  let results = (outs AnyRankedTensor:$keys, AnyRankedTensor:$values,
                      AnyRankedTensor:$scores, AnyRankedTensor:$positions,
                      AnyRankedTensor:$band_scores,
                      AnyRankedTensor:$band_positions,
                      AnyRankedTensor:$threshold, AnyRankedTensor:$counts,
                      AnyRankedTensor:$lengths);
  let assemblyFormat = [{
    $key `,` $value `,` $u `,` $prompt_lengths `into` $keys_init `,`
    $values_init `,` $scores_init `,` $positions_init `,` $band_scores_init
    `,` $band_positions_init `,` $threshold_init `,` $counts_init `,`
    $lengths_init `k` `=` $k `,` `window` `=` $window attr-dict `:`
    type($key) `,` type($value) `,` type($u) `,` type($prompt_lengths)
    `into` type($keys_init) `,` type($values_init) `,` type($scores_init) `,`
    type($positions_init) `,` type($band_scores_init) `,`
    type($band_positions_init) `,` type($threshold_init) `,`
    type($counts_init) `,` type($lengths_init)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The nine state inits (DestinationStyleOpInterface).
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), 4, 9);
    }
  }];
}

def SparseK_DecodeStepOp : SparseK_Op<"decode_step", [Pure,
    DestinationStyleOpInterface,
    AllTypesMatch<["out_init", "out"]>,
    AllTypesMatch<["keys_init", "keys"]>, AllTypesMatch<["values_init", "values"]>,
    AllTypesMatch<["scores_init", "scores"]>,
    AllTypesMatch<["positions_init", "positions"]>,
    AllTypesMatch<["band_scores_init", "band_scores"]>,
    AllTypesMatch<["band_positions_init", "band_positions"]>,
    AllTypesMatch<["threshold_init", "threshold"]>,
    AllTypesMatch<["counts_init", "counts"]>,
    AllTypesMatch<["lengths_init", "lengths"]>]> {
  let summary = "one decoding step: append a token, update the state, attend";
  let description = [{
    Implements one step of section 10 of `docs/Semantics.md` for every
    sequence `b` of the batch, at its position `p = lengths[b]`: the new
    token (`key : [B, Hkv, 1, D]`, `value : [B, Hkv, 1, Dv]`, score
    `u : [B, Hkv, 1]` f32) enters the window, the token leaving it becomes a
    candidate for the selection (ties to the later token) and for the
    threshold, the threshold is raised to the SPARSEK threshold of position
    `p`, and the queries `q : [B, Hq, 1, D]` attend over the window and the
    selection with soft weights against it, as `sparsek.attention` does for
    its last query: `out : [B, Hq, 1, Dv]` equals `sparsek.attention`'s
    output for position `p` over the whole history while the band has not
    overflowed. `lengths[b]` grows by one. Attributes `k`, `window`, `scale`
    (default `1/sqrt(D)`) and `gate` (default `kv`) as in
    `sparsek.attention`; the state's shapes carry `k + window` and the band
    capacity.

    Per step and (batch, KV head): `O((k + window) D)` work for attention
    (each cached key and value read once for the group's `Hq / Hkv` query
    heads), `O(k)` for the selection, and amortised `O(log(k + Cb))` heap
    operations for the threshold.

    The decode state (section 10 of `docs/Semantics.md`) is nine dense
    tensors of static layout, allocated once by the framework and updated
    in place (destination-passing style: every result is tied to the init
    operand of the same name and type). With `S = k + window` slots and
    `L = k + Cb + 1` band entries (`Cb` the band capacity):

    | tensor | shape, type | holds |
    | --- | --- | --- |
    | `keys` | `[B, Hkv, S, D]`, the K/V element type | slots `0..k-1`: the selection, any order; slot `k + p mod window`: the window token at position `p` |
    | `values` | `[B, Hkv, S, Dv]` | the same slots' values |
    | `scores` | `[B, Hkv, S]` f32 | the slots' scores |
    | `positions` | `[B, Hkv, S]` i32 | the slots' positions, -1 when empty |
    | `band_scores` | `[B, Hkv, 2, L]` f32 | two min-heaps of every candidate scoring above the threshold (selected or not): row 0 those at least 1 above it, row 1 the others |
    | `band_positions` | `[B, Hkv, 2, L]` i32 | their positions (the heaps' tie-break) |
    | `threshold` | `[B, Hkv, 3]` f64 | `tau`, and the exact fractional sum `sum (u - A)` of row 1 around the anchor `A` (stored as `tau, A, sum`) |
    | `counts` | `[B, Hkv, 3]` i32 | the two heaps' sizes, and 1 once the band overflowed |
    | `lengths` | `[B]` i32 | tokens seen per sequence |

    Nothing in it grows with the sequence: `(k + window) (D + Dv)` elements,
    `8 (k + window) + 16 L + 36` bytes per (batch, KV head), and 4 per
    sequence. The band heaps keep the threshold exact while at most `Cb`
    candidates outside the selection score above it; beyond that the
    lowest are dropped, the overflow flag is set, and later thresholds are
    lower bounds of the exact ones.

    Example:

    ```mlir
    %o, %keys, %values, %scores, %pos, %bs, %bp, %thr, %cnt, %len =
      sparsek.decode_step %q, %key, %value, %u
        into %o0, %k0, %v0, %s0, %p0, %bs0, %bp0, %t0, %c0, %l0
        k = 4, window = 8 {gate = #sparsek.gate<v>}
        : tensor<2x8x1x64xbf16>, tensor<2x2x1x64xbf16>, tensor<2x2x1x64xbf16>,
          tensor<2x2x1xf32>
        into tensor<2x8x1x64xbf16>, tensor<2x2x12x64xbf16>,
          tensor<2x2x12x64xbf16>, tensor<2x2x12xf32>, tensor<2x2x12xi32>,
          tensor<2x2x2x69xf32>, tensor<2x2x2x69xi32>, tensor<2x2x3xf64>,
          tensor<2x2x3xi32>, tensor<2xi32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$key,
                       AnyRankedTensor:$value, AnyRankedTensor:$u,
                       AnyRankedTensor:$out_init,
                       AnyRankedTensor:$keys_init, AnyRankedTensor:$values_init,
                       AnyRankedTensor:$scores_init,
                       AnyRankedTensor:$positions_init,
                       AnyRankedTensor:$band_scores_init,
                       AnyRankedTensor:$band_positions_init,
                       AnyRankedTensor:$threshold_init,
                       AnyRankedTensor:$counts_init,
                       AnyRankedTensor:$lengths_init,
                       I64Attr:$k, I64Attr:$window,
                       OptionalAttr<F64Attr>:$scale,
                       DefaultValuedAttr<SparseK_GateAttr, "::mlir::sparsek::Gate::kv">:$gate);
  let results = (outs AnyRankedTensor:$out, AnyRankedTensor:$keys,
                      AnyRankedTensor:$values, AnyRankedTensor:$scores,
                      AnyRankedTensor:$positions,
                      AnyRankedTensor:$band_scores,
                      AnyRankedTensor:$band_positions,
                      AnyRankedTensor:$threshold, AnyRankedTensor:$counts,
                      AnyRankedTensor:$lengths);
  let assemblyFormat = [{
    $q `,` $key `,` $value `,` $u `into` $out_init `,` $keys_init `,`
    $values_init `,` $scores_init `,` $positions_init `,` $band_scores_init
    `,` $band_positions_init `,` $threshold_init `,` $counts_init `,`
    $lengths_init `k` `=` $k `,` `window` `=` $window attr-dict `:`
    type($q) `,` type($key) `,` type($value) `,` type($u)
    `into` type($out_init) `,` type($keys_init) `,` type($values_init) `,`
    type($scores_init) `,` type($positions_init) `,` type($band_scores_init)
    `,` type($band_positions_init) `,` type($threshold_init) `,`
    type($counts_init) `,` type($lengths_init)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// out and the nine state inits (DestinationStyleOpInterface).
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), 4, 10);
    }
    /// As for sparsek.attention.
    std::optional<double> getStaticScale();
  }];
}

//===----------------------------------------------------------------------===//
// sparsek.kernel_call (internal: a generated kernel on tensors)
//===----------------------------------------------------------------------===//

def SparseK_KernelCallOp : SparseK_Op<"kernel_call", [
    AttrSizedOperandSegments, DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "internal: a kernel stub's launch on tensors, in destination-passing style";
  let description = [{
    An internal op of `convert-sparsek-to-gpu`: calls the kernel stub
    `callee` (a private `func.func` on memrefs that
    `sparsek-expand-kernel-stubs` turns into the kernel's launches) on the
    buffers of `inputs` (read) and `inits` (read and written in place).
    Result `i` is init `i` after the kernel: one-shot bufferization keeps
    it in the init's buffer (equivalent), so a state that a framework
    allocates once is updated where it lies (the decode state of
    `sparsek.decode_step`). Before bufferization it is a value-semantic
    tensor op like any destination-passing op; bufferization replaces it
    with a `func.call` of `callee`, each buffer cast to the stub's argument
    type.

    Example:

    ```mlir
    %r:2 = sparsek.kernel_call @stub(%q : tensor<1x4x1x64xbf16>)
           into(%o, %s : tensor<1x4x1x64xbf16>, tensor<1x2x8xf32>)
           -> tensor<1x4x1x64xbf16>, tensor<1x2x8xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee,
                       Variadic<AnyRankedTensor>:$inputs,
                       Variadic<AnyRankedTensor>:$inits);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $callee `(` ($inputs^ `:` type($inputs))? `)` `into` `(` $inits `:`
    type($inits) `)` attr-dict `->` type($results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getInitsMutable();
    }
  }];
}

#endif // SPARSEK_DIALECT_SPARSEK_IR_SPARSEKOPS_TD
