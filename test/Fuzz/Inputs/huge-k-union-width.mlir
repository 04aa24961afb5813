// The fuzzer (CI, 2026-11-27): k = 2^63 - 1 made the union width
// k + block_size - 1 of the GPU pass's block selection overflow int64 (UBSan).
// Block selections now use min(k, M), or stay unfused (BlockSelectOp::selectionK).
func.func @sparsek_layer(%q: tensor<2x8x1024x64xf16>, %key: tensor<2x2x1024x64xf16>,
                         %value: tensor<2x2x1024x64xf16>, %u: tensor<2x2x1024xf32>,
                         %out: memref<2x8x1024x64xf16>) {
  %o = "sparsek.attention"(%q, %key, %value, %u)
         {k = 9223372036854775807 : i64, window = 128 : i64, gate = #sparsek.gate<v>}
       : (tensor<2x8x1024x64xf16>, tensor<2x2x1024x64xf16>,
          tensor<2x2x1024x64xf16>, tensor<2x2x1024xf32>) -> tensor<2x8x1024x64xf16>
  bufferization.materialize_in_destination %o in restrict writable %out
    : (tensor<2x8x1024x64xf16>, memref<2x8x1024x64xf16>) -> ()
  return
}
