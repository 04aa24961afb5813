// The deterministic backward (slot numbering, the chunked kernel, the
// fixed-order sums) in f16 with static shapes and in bf16 with a dynamic
// query length and group size 8 (two head blocks per KV head), given the
// forward's log-sum-exp.
func.func @det_f16(%q: tensor<1x4x40x64xf16>, %k: tensor<1x2x40x64xf16>, %v: tensor<1x2x40x64xf16>,
                   %u: tensor<1x2x40xf32>, %o: tensor<1x4x40x64xf16>, %g: tensor<1x4x40x64xf16>)
    -> (tensor<1x4x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40xf32>) {
  %dq, %dk, %dv, %du = sparsek.attention_backward %q, %k, %v, %u, %o, %g k = 3, window = 4 {deterministic}
      : (tensor<1x4x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40xf32>,
         tensor<1x4x40x64xf16>, tensor<1x4x40x64xf16>)
        -> (tensor<1x4x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40xf32>)
  return %dq, %dk, %dv, %du : tensor<1x4x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40xf32>
}

func.func @det_bf16_lse(%q: tensor<1x8x?x128xbf16>, %k: tensor<1x1x?x128xbf16>, %v: tensor<1x1x?x128xbf16>,
                        %u: tensor<1x1x?xf32>, %o: tensor<1x8x?x128xbf16>, %g: tensor<1x8x?x128xbf16>,
                        %lse: tensor<1x8x?xf32>)
    -> (tensor<1x8x?x128xbf16>, tensor<1x1x?x128xbf16>, tensor<1x1x?x128xbf16>, tensor<1x1x?xf32>) {
  %dq, %dk, %dv, %du = sparsek.attention_backward %q, %k, %v, %u, %o, %g lse %lse k = 5, window = 0 {deterministic}
      : (tensor<1x8x?x128xbf16>, tensor<1x1x?x128xbf16>, tensor<1x1x?x128xbf16>, tensor<1x1x?xf32>,
         tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?xf32>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x1x?x128xbf16>, tensor<1x1x?x128xbf16>, tensor<1x1x?xf32>)
  return %dq, %dk, %dv, %du : tensor<1x8x?x128xbf16>, tensor<1x1x?x128xbf16>, tensor<1x1x?x128xbf16>, tensor<1x1x?xf32>
}
