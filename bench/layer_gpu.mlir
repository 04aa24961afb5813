// The GPU benchmark layer: bf16, k = 256, window = 512, gate kv, causal;
// batch, heads and lengths dynamic, head dims static (D = Dv = 128), as the
// Python package compiles its layers (a model's head dims are fixed).
// Entry point takes device memory.
func.func @sparsek_layer(%q: tensor<?x?x?x128xbf16>, %key: tensor<?x?x?x128xbf16>,
                         %value: tensor<?x?x?x128xbf16>, %u: tensor<?x?x?xf32>,
                         %out: memref<?x?x?x128xbf16>) {
  %o = "sparsek.attention"(%q, %key, %value, %u) {k = 256 : i64, window = 512 : i64}
       : (tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?xf32>)
         -> tensor<?x?x?x128xbf16>
  bufferization.materialize_in_destination %o in restrict writable %out
    : (tensor<?x?x?x128xbf16>, memref<?x?x?x128xbf16>) -> ()
  return
}
