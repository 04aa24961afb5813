// Training's pair in one function (the forward's log-sum-exp given to the
// backward, one block selection on the GPU), in f16 (the tensor-core
// kernels) and f32 with a dynamic query length (the linalg lowerings).
func.func @pair_f16(%q: tensor<1x4x40x64xf16>, %k: tensor<1x2x40x64xf16>, %v: tensor<1x2x40x64xf16>,
                    %u: tensor<1x2x40xf32>, %g: tensor<1x4x40x64xf16>)
    -> (tensor<1x4x40x64xf16>, tensor<1x4x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40xf32>) {
  %o, %lse = sparsek.attention %q, %k, %v, %u k = 3, window = 4
      : (tensor<1x4x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40xf32>)
        -> (tensor<1x4x40x64xf16>, tensor<1x4x40xf32>)
  %dq, %dk, %dv, %du = sparsek.attention_backward %q, %k, %v, %u, %o, %g lse %lse k = 3, window = 4
      : (tensor<1x4x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40xf32>,
         tensor<1x4x40x64xf16>, tensor<1x4x40x64xf16>, tensor<1x4x40xf32>)
        -> (tensor<1x4x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40xf32>)
  return %o, %dq, %dk, %dv, %du : tensor<1x4x40x64xf16>, tensor<1x4x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40x64xf16>, tensor<1x2x40xf32>
}

func.func @pair_f32(%q: tensor<1x2x?x8xf32>, %k: tensor<1x1x?x8xf32>, %v: tensor<1x1x?x8xf32>,
                    %u: tensor<1x1x?xf32>, %g: tensor<1x2x?x8xf32>)
    -> (tensor<1x2x?xf32>, tensor<1x2x?x8xf32>) {
  %o, %lse = "sparsek.attention"(%q, %k, %v, %u) {k = 2 : i64, window = 1 : i64}
      : (tensor<1x2x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?xf32>)
        -> (tensor<1x2x?x8xf32>, tensor<1x2x?xf32>)
  %dq, %dk, %dv, %du = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %g, %lse) {k = 2 : i64, window = 1 : i64}
      : (tensor<1x2x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?xf32>,
         tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?xf32>)
        -> (tensor<1x2x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?xf32>)
  return %lse, %dq : tensor<1x2x?xf32>, tensor<1x2x?x8xf32>
}
