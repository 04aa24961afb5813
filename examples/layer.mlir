// An example SparseK layer, as a framework would emit it (SPEC section 6, in
// generic form): batch 2, 8 query heads over 2 KV heads (GQA), 1024 tokens,
// head dim 64, f16; each query attends to k = 64 selected keys plus a
// 128-key sliding window, with the soft gate on the values.
//
// Destination-passing style for ahead-of-time use: the caller owns every
// buffer, the output `%out` included (docs/CallingConvention.md).
func.func @sparsek_layer(%q: tensor<2x8x1024x64xf16>, %key: tensor<2x2x1024x64xf16>,
                         %value: tensor<2x2x1024x64xf16>, %u: tensor<2x2x1024xf32>,
                         %out: memref<2x8x1024x64xf16>) {
  %o = "sparsek.attention"(%q, %key, %value, %u)
         {k = 64 : i64, window = 128 : i64, gate = #sparsek.gate<v>}
       : (tensor<2x8x1024x64xf16>, tensor<2x2x1024x64xf16>,
          tensor<2x2x1024x64xf16>, tensor<2x2x1024xf32>) -> tensor<2x8x1024x64xf16>
  bufferization.materialize_in_destination %o in restrict writable %out
    : (tensor<2x8x1024x64xf16>, memref<2x8x1024x64xf16>) -> ()
  return
}
