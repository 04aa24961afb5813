// The GPU benchmark layer (GPU issue): every dimension dynamic, bf16,
// k = 256, window = 512, gate kv, causal. Entry point takes device memory.
func.func @sparsek_layer(%q: tensor<?x?x?x?xbf16>, %key: tensor<?x?x?x?xbf16>,
                         %value: tensor<?x?x?x?xbf16>, %u: tensor<?x?x?xf32>,
                         %out: memref<?x?x?x?xbf16>) {
  %o = "sparsek.attention"(%q, %key, %value, %u) {k = 256 : i64, window = 512 : i64}
       : (tensor<?x?x?x?xbf16>, tensor<?x?x?x?xbf16>, tensor<?x?x?x?xbf16>, tensor<?x?x?xf32>)
         -> tensor<?x?x?x?xbf16>
  bufferization.materialize_in_destination %o in restrict writable %out
    : (tensor<?x?x?x?xbf16>, memref<?x?x?x?xbf16>) -> ()
  return
}
