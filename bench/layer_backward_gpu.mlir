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

// Training's pair in block form: the forward builds the block selection
// (blocks of 32 queries: the kernel's four-head layout for this group of
// 4), attends with it and returns it with out and lse; the backward is
// given all of them and selects nothing.
func.func @sparsek_layer_forward_blocks(
    %q: tensor<1x8x?x128xbf16>, %key: tensor<1x2x?x128xbf16>,
    %value: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>,
    %out: memref<1x8x?x128xbf16>, %lse: memref<1x8x?xf32>,
    %kth_score: memref<1x2x?xf32>, %kth_index: memref<1x2x?xi32>,
    %tau: memref<1x2x?xf32>, %union_keys: memref<1x2x?x287xi32>,
    %union_count: memref<1x2x?xi32>) {
  %c2 = arith.constant 2 : index
  %n = tensor.dim %q, %c2 : tensor<1x8x?x128xbf16>
  %s:5 = "sparsek.block_select"(%u, %n)
      {k = 256 : i64, window = 512 : i64, block_size = 32 : i64}
      : (tensor<1x2x?xf32>, index)
        -> (tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>,
            tensor<1x2x?x287xi32>, tensor<1x2x?xi32>)
  %o:2 = "sparsek.block_attention"(%q, %key, %value, %u, %s#0, %s#1, %s#2,
                                   %s#3, %s#4)
      {window = 512 : i64, block_size = 32 : i64}
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
         tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>, tensor<1x2x?xf32>,
         tensor<1x2x?xi32>, tensor<1x2x?xf32>, tensor<1x2x?x287xi32>,
         tensor<1x2x?xi32>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x8x?xf32>)
  bufferization.materialize_in_destination %o#0 in restrict writable %out
    : (tensor<1x8x?x128xbf16>, memref<1x8x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %o#1 in restrict writable %lse
    : (tensor<1x8x?xf32>, memref<1x8x?xf32>) -> ()
  bufferization.materialize_in_destination %s#0 in restrict writable %kth_score
    : (tensor<1x2x?xf32>, memref<1x2x?xf32>) -> ()
  bufferization.materialize_in_destination %s#1 in restrict writable %kth_index
    : (tensor<1x2x?xi32>, memref<1x2x?xi32>) -> ()
  bufferization.materialize_in_destination %s#2 in restrict writable %tau
    : (tensor<1x2x?xf32>, memref<1x2x?xf32>) -> ()
  bufferization.materialize_in_destination %s#3 in restrict writable %union_keys
    : (tensor<1x2x?x287xi32>, memref<1x2x?x287xi32>) -> ()
  bufferization.materialize_in_destination %s#4 in restrict writable %union_count
    : (tensor<1x2x?xi32>, memref<1x2x?xi32>) -> ()
  return
}

func.func @sparsek_layer_backward_blocks(
    %q: tensor<1x8x?x128xbf16>, %key: tensor<1x2x?x128xbf16>,
    %value: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>,
    %out: tensor<1x8x?x128xbf16>, %dout: tensor<1x8x?x128xbf16>,
    %lse: tensor<1x8x?xf32>, %kth_score: tensor<1x2x?xf32>,
    %kth_index: tensor<1x2x?xi32>, %tau: tensor<1x2x?xf32>,
    %union_keys: tensor<1x2x?x287xi32>, %union_count: tensor<1x2x?xi32>,
    %dq: memref<1x8x?x128xbf16>, %dkey: memref<1x2x?x128xbf16>,
    %dvalue: memref<1x2x?x128xbf16>, %du: memref<1x2x?xf32>) {
  %g:4 = "sparsek.block_attention_backward"(%q, %key, %value, %u, %out, %dout,
                                            %lse, %kth_score, %kth_index, %tau,
                                            %union_keys, %union_count)
      {k = 256 : i64, window = 512 : i64, block_size = 32 : i64}
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>,
         tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?xf32>,
         tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>,
         tensor<1x2x?x287xi32>, tensor<1x2x?xi32>)
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
