func.func @bad(%q: tensor<1x1x4x4xf32>, %u: tensor<1x1x4xf32>) -> tensor<1x1x4x4xf32> {
  %o = "sparsek.attention"(%q, %q, %q, %u) {k = 0 : i64, window = 1 : i64}
       : (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4xf32>) -> tensor<1x1x4x4xf32>
  return %o : tensor<1x1x4x4xf32>
}
