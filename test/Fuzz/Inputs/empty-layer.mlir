// Hardening issue, defect 8: empty sequences failed the CPU pipeline.
func.func @empty(%q: tensor<1x2x0x16xf32>, %k: tensor<1x2x0x16xf32>, %v: tensor<1x2x0x16xf32>, %u: tensor<1x2x0xf32>, %out: memref<1x2x0x16xf32>) {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 4 : i64, window = 4 : i64} : (tensor<1x2x0x16xf32>, tensor<1x2x0x16xf32>, tensor<1x2x0x16xf32>, tensor<1x2x0xf32>) -> tensor<1x2x0x16xf32>
  bufferization.materialize_in_destination %o in restrict writable %out : (tensor<1x2x0x16xf32>, memref<1x2x0x16xf32>) -> ()
  %i = "sparsek.topk"(%u) {k = 4 : i64, window = 0 : i64} : (tensor<1x2x0xf32>) -> tensor<1x2x0x4xi32>
  return
}
