// A SparseK layer for ahead-of-time compilation, destination-passing style:
// the caller owns every buffer, the output included.
func.func @sparsek_layer(%q: tensor<2x8x128x64xf16>, %key: tensor<2x2x128x64xf16>,
                         %value: tensor<2x2x128x64xf16>, %u: tensor<2x2x128xf32>,
                         %out: memref<2x8x128x64xf16>) {
  %o = "sparsek.attention"(%q, %key, %value, %u)
         {k = 16 : i64, window = 32 : i64, gate = #sparsek.gate<v>}
       : (tensor<2x8x128x64xf16>, tensor<2x2x128x64xf16>,
          tensor<2x2x128x64xf16>, tensor<2x2x128xf32>) -> tensor<2x8x128x64xf16>
  bufferization.materialize_in_destination %o in restrict writable %out
    : (tensor<2x8x128x64xf16>, memref<2x8x128x64xf16>) -> ()
  return
}
