// Hq = Hkv = 0 passes the verifier; no division by the zero Hkv.
func.func @heads(%q: tensor<1x0x4x8xf32>, %k: tensor<1x0x4x8xf32>, %v: tensor<1x0x4x8xf32>, %u: tensor<1x0x4xf32>) -> tensor<1x0x4x8xf32> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 2 : i64, window = 1 : i64} : (tensor<1x0x4x8xf32>, tensor<1x0x4x8xf32>, tensor<1x0x4x8xf32>, tensor<1x0x4xf32>) -> tensor<1x0x4x8xf32>
  return %o : tensor<1x0x4x8xf32>
}
