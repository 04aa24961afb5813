//===- Passes.td - sparsek transformation passes -----------*- tablegen -*-===//

#ifndef SPARSEK_DIALECT_SPARSEK_TRANSFORMS_PASSES_TD
#define SPARSEK_DIALECT_SPARSEK_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SparseKDecomposePass : Pass<"sparsek-decompose"> {
  let summary = "Split sparsek.attention into threshold, topk and "
                "gathered_attention";
  let description = [{
    Rewrites the whole-layer op into its stages (section 6 of `docs/Semantics.md`):

        sparsek.attention %q, %key, %value, %u k = K, window = W {causal}
          => %tau = sparsek.threshold %u k = K, window = W
             %idx = sparsek.topk %u k = K, window = W
             sparsek.gathered_attention %q, %key, %value, %u, %idx, %tau
               window = W

    Non-causal layers (`causal = false`, window 0) share one threshold and
    one selection over all `M` keys. The query at position `M - 1` with
    window 0 has exactly those candidates, so they are computed for a single
    query and broadcast along `N`:

        sparsek.attention ... {causal = false}
          => %tau1 = sparsek.threshold %u k = K, window = 0 : -> [B, Hkv, 1]
             %idx1 = sparsek.topk %u k = K, window = 0 : -> [B, Hkv, 1, K]
             broadcast both along N (linalg.broadcast)
             sparsek.gathered_attention ... window = 0

    `scale` and `gate` carry over unchanged. A causal layer needs a static
    query length `N` (the thresholds' result type carries it) and is left
    as it is otherwise, for lowerings that handle the whole op; the
    non-causal split works for any `N`. `convert-sparsek-to-linalg`
    includes this rewrite, so the non-causal layer is lowered one way.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SparseKFuseAttentionPass : Pass<"sparsek-fuse-attention"> {
  let summary = "Rewrite the causal layer into block selection + block "
                "attention";
  let description = [{
    The fused path's first step, as ops:

        sparsek.attention %q, %key, %value, %u k = K, window = W {causal}
          => %kth_s, %kth_i, %tau, %union, %count =
               sparsek.block_select %u k = K, window = W, block_size = BQ
             sparsek.block_attention %q, %key, %value, %u, %kth_s, %kth_i,
               %tau, %union, %count window = W, block_size = BQ

    so that every block of `BQ` consecutive queries reads one union of at
    most `K + BQ - 1` selected keys and one contiguous run of `W + BQ - 1`
    window keys, and never the `[B, Hkv, N, K]` indices of `sparsek.topk`.
    `block_size` is the attention kernel's query tile. `scale` and `gate`
    carry over. The same layer written as its stages (`sparsek.threshold`
    and `sparsek.topk` over the same `u`, `k` and `window` feeding
    `sparsek.gathered_attention`, as `sparsek-decompose` writes it) is
    fused the same way; the stages stay for any other users. Left alone: non-causal layers (one selection for all
    queries: `sparsek-decompose` handles them) and a dynamic query length
    `N` (`block_select` takes `N` from its result types;
    `convert-sparsek-to-linalg{fused-block-size}` fuses those directly).
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "Queries per block (the attention kernel's query tile), >= 1">
  ];
}

def SparseKCheckedEntryPointsPass
    : Pass<"sparsek-checked-entry-points", "::mlir::ModuleOp"> {
  let summary = "Add shape-checked wrappers that return a status code";
  let description = [{
    section 8 of `docs/Semantics.md`: an entry point given a shape it cannot run returns an
    error code and never touches memory out of bounds. For every public
    `func.func @NAME` with no results whose arguments are ranked tensors or
    memrefs (destination-passing style), this adds

        func.func @NAME_checked(<same arguments, every dim dynamic,
                                 memrefs with a dynamic strided layout>) -> i32

    which checks, on the run-time sizes: every static size of `@NAME`'s
    arguments; every size rule of every sparsek op in `@NAME` (the rules
    its verifier checks on static sizes: equal batch, heads, lengths and
    head dims, N <= M, Hq a multiple of Hkv, D >= 1, ...) whose sizes are
    those of `@NAME`'s arguments (an operand that is an argument or a cast
    of one, a result stored into a memref argument by
    `bufferization.materialize_in_destination`); and, for a memref that
    `@NAME` takes with the identity layout, offset 0 and row-major strides
    (a dimension of size 0 or 1 may have any stride). It calls `@NAME`
    (through `tensor.cast` / `memref.cast`) only when all hold and returns
    0; otherwise it returns 1 (a size rule broken) or 2 (a view the
    identity-layout argument cannot take), without calling it. Declare a
    destination as `memref<..., strided<[?, ...], offset: ?>>` to accept
    any view. The wrapper gets `llvm.emit_c_interface`, so C callers reach
    it as `_mlir_ciface_NAME_checked`. Functions with results, or with
    arguments that are not ranked shaped types, are left alone.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // SPARSEK_DIALECT_SPARSEK_TRANSFORMS_PASSES_TD
