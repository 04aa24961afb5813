// An example SparseK layer, as a framework would emit it (SPEC section 6, in
// generic form): 8 query heads over 2 KV heads (GQA), 64 selected keys plus a
// 128-key sliding window per query, gate on the values.
func.func @layer(%q: tensor<1x8x1024x64xf32>, %key: tensor<1x2x1024x64xf32>,
                 %value: tensor<1x2x1024x64xf32>, %u: tensor<1x2x1024xf32>)
    -> tensor<1x8x1024x64xf32> {
  %o = "sparsek.attention"(%q, %key, %value, %u)
         {k = 64 : i64, window = 128 : i64, gate = #sparsek.gate<v>}
       : (tensor<1x8x1024x64xf32>, tensor<1x2x1024x64xf32>,
          tensor<1x2x1024x64xf32>, tensor<1x2x1024xf32>) -> tensor<1x8x1024x64xf32>
  return %o : tensor<1x8x1024x64xf32>
}
