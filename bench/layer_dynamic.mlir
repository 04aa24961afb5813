// The benchmark layer: every dimension dynamic, so that one compiled kernel
// serves every size. f32, k = 64, window = 128, gate kv, causal.
func.func @sparsek_layer(%q: tensor<?x?x?x?xf32>, %key: tensor<?x?x?x?xf32>,
                         %value: tensor<?x?x?x?xf32>, %u: tensor<?x?x?xf32>,
                         %out: memref<?x?x?x?xf32>) {
  %o = "sparsek.attention"(%q, %key, %value, %u) {k = 64 : i64, window = 128 : i64}
       : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>)
         -> tensor<?x?x?x?xf32>
  bufferization.materialize_in_destination %o in restrict writable %out
    : (tensor<?x?x?x?xf32>, memref<?x?x?x?xf32>) -> ()
  return
}
