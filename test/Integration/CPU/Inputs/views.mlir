// Layers with every size dynamic, for test/Integration/CPU/views.test:
// @layer_dense writes a dense (identity-layout) destination, @layer_view
// any strided view.
func.func @layer_dense(%q: tensor<?x?x?x?xf32>, %key: tensor<?x?x?x?xf32>,
                       %value: tensor<?x?x?x?xf32>, %u: tensor<?x?x?xf32>,
                       %out: memref<?x?x?x?xf32>) {
  %o = "sparsek.attention"(%q, %key, %value, %u) {k = 3 : i64, window = 4 : i64}
       : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>,
          tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32>
  bufferization.materialize_in_destination %o in restrict writable %out
    : (tensor<?x?x?x?xf32>, memref<?x?x?x?xf32>) -> ()
  return
}

func.func @layer_view(%q: tensor<?x?x?x?xf32>, %key: tensor<?x?x?x?xf32>,
                      %value: tensor<?x?x?x?xf32>, %u: tensor<?x?x?xf32>,
                      %out: memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>) {
  %o = "sparsek.attention"(%q, %key, %value, %u) {k = 3 : i64, window = 4 : i64}
       : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>,
          tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32>
  bufferization.materialize_in_destination %o in restrict writable %out
    : (tensor<?x?x?x?xf32>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>) -> ()
  return
}
