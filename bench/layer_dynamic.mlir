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

// Its gradients (sparsek.attention_backward), for the backward's scaling.
func.func @sparsek_layer_backward(%q: tensor<?x?x?x?xf32>, %key: tensor<?x?x?x?xf32>,
                                  %value: tensor<?x?x?x?xf32>, %u: tensor<?x?x?xf32>,
                                  %out: tensor<?x?x?x?xf32>, %dout: tensor<?x?x?x?xf32>,
                                  %dq: memref<?x?x?x?xf32>, %dk: memref<?x?x?x?xf32>,
                                  %dv: memref<?x?x?x?xf32>, %du: memref<?x?x?xf32>) {
  %g:4 = "sparsek.attention_backward"(%q, %key, %value, %u, %out, %dout) {k = 64 : i64, window = 128 : i64}
       : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>,
          tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>)
         -> (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>)
  bufferization.materialize_in_destination %g#0 in restrict writable %dq
    : (tensor<?x?x?x?xf32>, memref<?x?x?x?xf32>) -> ()
  bufferization.materialize_in_destination %g#1 in restrict writable %dk
    : (tensor<?x?x?x?xf32>, memref<?x?x?x?xf32>) -> ()
  bufferization.materialize_in_destination %g#2 in restrict writable %dv
    : (tensor<?x?x?x?xf32>, memref<?x?x?x?xf32>) -> ()
  bufferization.materialize_in_destination %g#3 in restrict writable %du
    : (tensor<?x?x?xf32>, memref<?x?x?xf32>) -> ()
  return
}
