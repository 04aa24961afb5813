// The GPU backward benchmark layer (issue 11): the gradients of
// bench/layer_gpu.mlir's layer (bf16, k = 256, window = 512, gate kv,
// causal) with B = 1, Hq = 8, Hkv = 2, D = Dv = 128 static and N dynamic
// (the backward kernel needs static head dims and group size). Entry point
// takes device memory; the results are written into the last four.
func.func @sparsek_layer_backward(
    %q: tensor<1x8x?x128xbf16>, %key: tensor<1x2x?x128xbf16>,
    %value: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>,
    %out: tensor<1x8x?x128xbf16>, %dout: tensor<1x8x?x128xbf16>,
    %dq: memref<1x8x?x128xbf16>, %dkey: memref<1x2x?x128xbf16>,
    %dvalue: memref<1x2x?x128xbf16>, %du: memref<1x2x?xf32>) {
  %g:4 = "sparsek.attention_backward"(%q, %key, %value, %u, %out, %dout)
      {k = 256 : i64, window = 512 : i64}
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
         tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
            tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>)
  bufferization.materialize_in_destination %g#0 in restrict writable %dq
    : (tensor<1x8x?x128xbf16>, memref<1x8x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#1 in restrict writable %dkey
    : (tensor<1x2x?x128xbf16>, memref<1x2x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#2 in restrict writable %dvalue
    : (tensor<1x2x?x128xbf16>, memref<1x2x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#3 in restrict writable %du
    : (tensor<1x2x?xf32>, memref<1x2x?xf32>) -> ()
  return
}

// Training's pair (issue 11): the forward that also returns every row's
// log-sum-exp, and the backward given it (no first sweep over the keys).
func.func @sparsek_layer_forward_lse(
    %q: tensor<1x8x?x128xbf16>, %key: tensor<1x2x?x128xbf16>,
    %value: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>,
    %out: memref<1x8x?x128xbf16>, %lse: memref<1x8x?xf32>) {
  %o:2 = "sparsek.attention"(%q, %key, %value, %u)
      {k = 256 : i64, window = 512 : i64}
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
         tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x8x?xf32>)
  bufferization.materialize_in_destination %o#0 in restrict writable %out
    : (tensor<1x8x?x128xbf16>, memref<1x8x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %o#1 in restrict writable %lse
    : (tensor<1x8x?xf32>, memref<1x8x?xf32>) -> ()
  return
}

func.func @sparsek_layer_backward_lse(
    %q: tensor<1x8x?x128xbf16>, %key: tensor<1x2x?x128xbf16>,
    %value: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>,
    %out: tensor<1x8x?x128xbf16>, %dout: tensor<1x8x?x128xbf16>,
    %lse: tensor<1x8x?xf32>,
    %dq: memref<1x8x?x128xbf16>, %dkey: memref<1x2x?x128xbf16>,
    %dvalue: memref<1x2x?x128xbf16>, %du: memref<1x2x?xf32>) {
  %g:4 = "sparsek.attention_backward"(%q, %key, %value, %u, %out, %dout, %lse)
      {k = 256 : i64, window = 512 : i64}
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
         tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?xf32>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
            tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>)
  bufferization.materialize_in_destination %g#0 in restrict writable %dq
    : (tensor<1x8x?x128xbf16>, memref<1x8x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#1 in restrict writable %dkey
    : (tensor<1x2x?x128xbf16>, memref<1x2x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#2 in restrict writable %dvalue
    : (tensor<1x2x?x128xbf16>, memref<1x2x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#3 in restrict writable %du
    : (tensor<1x2x?xf32>, memref<1x2x?xf32>) -> ()
  return
}

// A training step in one function: the forward (with its log-sum-exp)
// and the backward given it, over the same scores and queries, so the
// GPU conversion builds the block selection once for both.
func.func @sparsek_layer_train_step(
    %q: tensor<1x8x?x128xbf16>, %key: tensor<1x2x?x128xbf16>,
    %value: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>,
    %dout: tensor<1x8x?x128xbf16>, %out: memref<1x8x?x128xbf16>,
    %dq: memref<1x8x?x128xbf16>, %dkey: memref<1x2x?x128xbf16>,
    %dvalue: memref<1x2x?x128xbf16>, %du: memref<1x2x?xf32>) {
  %o:2 = "sparsek.attention"(%q, %key, %value, %u)
      {k = 256 : i64, window = 512 : i64}
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
         tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x8x?xf32>)
  %g:4 = "sparsek.attention_backward"(%q, %key, %value, %u, %o#0, %dout, %o#1)
      {k = 256 : i64, window = 512 : i64}
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
         tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?xf32>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
            tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>)
  bufferization.materialize_in_destination %o#0 in restrict writable %out
    : (tensor<1x8x?x128xbf16>, memref<1x8x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#0 in restrict writable %dq
    : (tensor<1x8x?x128xbf16>, memref<1x8x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#1 in restrict writable %dkey
    : (tensor<1x2x?x128xbf16>, memref<1x2x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#2 in restrict writable %dvalue
    : (tensor<1x2x?x128xbf16>, memref<1x2x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#3 in restrict writable %du
    : (tensor<1x2x?xf32>, memref<1x2x?xf32>) -> ()
  return
}

// The deterministic backward (the `deterministic` attribute: per-chunk
// partial sums added in a fixed order, no floating-point atomics), plain
// and given the forward's log-sum-exp.
func.func @sparsek_layer_backward_det(
    %q: tensor<1x8x?x128xbf16>, %key: tensor<1x2x?x128xbf16>,
    %value: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>,
    %out: tensor<1x8x?x128xbf16>, %dout: tensor<1x8x?x128xbf16>,
    %dq: memref<1x8x?x128xbf16>, %dkey: memref<1x2x?x128xbf16>,
    %dvalue: memref<1x2x?x128xbf16>, %du: memref<1x2x?xf32>) {
  %g:4 = "sparsek.attention_backward"(%q, %key, %value, %u, %out, %dout)
      {k = 256 : i64, window = 512 : i64, deterministic}
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
         tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
            tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>)
  bufferization.materialize_in_destination %g#0 in restrict writable %dq
    : (tensor<1x8x?x128xbf16>, memref<1x8x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#1 in restrict writable %dkey
    : (tensor<1x2x?x128xbf16>, memref<1x2x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#2 in restrict writable %dvalue
    : (tensor<1x2x?x128xbf16>, memref<1x2x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#3 in restrict writable %du
    : (tensor<1x2x?xf32>, memref<1x2x?xf32>) -> ()
  return
}

func.func @sparsek_layer_backward_lse_det(
    %q: tensor<1x8x?x128xbf16>, %key: tensor<1x2x?x128xbf16>,
    %value: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>,
    %out: tensor<1x8x?x128xbf16>, %dout: tensor<1x8x?x128xbf16>,
    %lse: tensor<1x8x?xf32>,
    %dq: memref<1x8x?x128xbf16>, %dkey: memref<1x2x?x128xbf16>,
    %dvalue: memref<1x2x?x128xbf16>, %du: memref<1x2x?xf32>) {
  %g:4 = "sparsek.attention_backward"(%q, %key, %value, %u, %out, %dout, %lse)
      {k = 256 : i64, window = 512 : i64, deterministic}
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
         tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?xf32>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
            tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>)
  bufferization.materialize_in_destination %g#0 in restrict writable %dq
    : (tensor<1x8x?x128xbf16>, memref<1x8x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#1 in restrict writable %dkey
    : (tensor<1x2x?x128xbf16>, memref<1x2x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#2 in restrict writable %dvalue
    : (tensor<1x2x?x128xbf16>, memref<1x2x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %g#3 in restrict writable %du
    : (tensor<1x2x?xf32>, memref<1x2x?xf32>) -> ()
  return
}
