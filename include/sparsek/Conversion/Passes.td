//===- Passes.td - sparsek conversion passes ---------------*- tablegen -*-===//

#ifndef SPARSEK_CONVERSION_PASSES_TD
#define SPARSEK_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSparseKToLinalgPass : Pass<"convert-sparsek-to-linalg"> {
  let summary = "Lower every sparsek op to linalg, tensor, scf, arith and math";
  let description = [{
    Lowers the six sparsek ops on tensors, keeping section 7 of `docs/Semantics.md` (nothing
    of size N x M, no O(N M) work):

        sparsek.score              => linalg.generic (bias + slope * j), then
                                      linalg.generic (reduction over C)
        sparsek.mask               => scf.for of 32 exact bisection steps over
                                      the ordered bit patterns of f32, each a
                                      linalg.generic reduction along n (terms
                                      in [0, 1], f64), and one reduction
                                      counting entries above -inf:
                                      O(33 n) per row, fully parallel
        sparsek.threshold          => scf.forall over (B, Hkv); per row an
                                      incremental sweep with two min-heaps
                                      (capped and fractional keys; each key
                                      moves capped -> fractional -> dead at
                                      most once): O(M log M); fractional sums
                                      kept relative to floor(t), exact for any
                                      finite scores
        sparsek.topk               => scf.forall over (B, Hkv); per row a
                                      k-sized min-heap over (score, index):
                                      O(M log k + N k log k)
        threshold, topk and
        block_select with
        parallel-selection         => ranks by a merge sort whose rounds
                                      are foralls over keys, wavelet
                                      matrices over them (W1 with
                                      fractional-part sums), then one
                                      thread per query (tau: two binary
                                      searches over the sorted scores,
                                      each probe O(log M); kth: a
                                      quantile) or per output entry:
                                      O((M + N) log^2 M), no sequential
                                      sweep along the row
        sparsek.gathered_attention => scf.forall over (B, Hq, N); per query
                                      an online (max-subtracted) softmax over
                                      its window rows and selected rows:
                                      O((k + w) D), O(Dv) memory
        sparsek.attention          => sparsek-decompose's split, then the
                                      above; a causal layer with a dynamic N
                                      directly with the same builders (N
                                      from q)
        any sparsek op whose results
        are statically empty       => tensor.empty

    f16/bf16 inputs are extended to f32 for arithmetic. Threshold and topk
    learn N from their result types, so a dynamic N there is an error
    (diagnosed). Loops are target-neutral scf.forall; where they run is the
    pipeline's decision.
  }];
  let options = [
    Option<"parallelSelection", "parallel-selection", "bool",
           /*default=*/"false",
           "Thresholds, top-k and block selections in parallel along the "
           "row (ParallelSelection.cpp: ranks by a merge sort, wavelet "
           "matrices, per-query searches; O((M + N) log^2 M) work, "
           "O(log^2 M) depth plus a scan over M / 1024 totals) instead of "
           "one sequential sweep per row (O(M log M)). The GPU pipeline's "
           "choice.">,
    Option<"fusedBlockSize", "fused-block-size", "int64_t",
           /*default=*/"0",
           "> 0: a causal sparsek.attention (any N) lowers to block "
           "selection (sparsek.block_select's builders) + block attention "
           "(sparsek.block_attention's) over blocks of this many queries: "
           "per query, the block's window run and selection union, walked "
           "in the same order by every query of a block. 0: thresholds, "
           "top-k and gathered attention.">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // SPARSEK_CONVERSION_PASSES_TD
