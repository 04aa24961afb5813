// A fuzzer finding (CI, 2026-11-28): a backward over blocks of 8 queries
// with one query head per KV head (8 rows: no whole warp). The kernel
// configuration computed its backward checks before its shape checks and
// divided by its zero warps (UBSan: division by zero). Now the tensor-core
// kernel declines the block and the backward takes the linalg lowering.
func.func @backward_small_block(%q: tensor<1x1x?x64xbf16>, %k: tensor<1x1x?x64xbf16>, %v: tensor<1x1x?x64xbf16>,
                                %u: tensor<1x1x?xf32>, %o: tensor<1x1x?x64xbf16>, %g: tensor<1x1x?x64xbf16>,
                                %lse: tensor<1x1x?xf32>)
    -> (tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>, tensor<1x1x?xf32>) {
  %c2 = arith.constant 2 : index
  %n = tensor.dim %q, %c2 : tensor<1x1x?x64xbf16>
  %s:5 = sparsek.block_select %u queries = %n k = 4, window = 8, block_size = 8
      : (tensor<1x1x?xf32>, index)
        -> (tensor<1x1x?xf32>, tensor<1x1x?xi32>, tensor<1x1x?xf32>, tensor<1x1x?x11xi32>, tensor<1x1x?xi32>)
  %dq, %dk, %dv, %du = sparsek.block_attention_backward %q, %k, %v, %u, %o, %g, %lse, %s#0, %s#1, %s#2, %s#3, %s#4
      k = 4, window = 8, block_size = 8
      : (tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>, tensor<1x1x?xf32>,
         tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>, tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?xi32>,
         tensor<1x1x?xf32>, tensor<1x1x?x11xi32>, tensor<1x1x?xi32>)
        -> (tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>, tensor<1x1x?xf32>)
  return %dq, %dk, %dv, %du : tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>, tensor<1x1x?xf32>
}
