// Training's pair in block form: the forward (block_select with a dynamic
// query length given by `queries`, block_attention with its log-sum-exp)
// returning its selection, and block_attention_backward given it; bf16
// with a dynamic group size (the kernels' four-head and one-head layouts)
// and f32 (the linalg lowerings: the backward selects again).
func.func @forward_bf16(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>,
                        %u: tensor<?x?x?xf32>)
    -> (tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xi32>, tensor<?x?x?xf32>,
        tensor<?x?x?x35xi32>, tensor<?x?x?xi32>) {
  %c2 = arith.constant 2 : index
  %n = tensor.dim %q, %c2 : tensor<?x?x?x64xbf16>
  %s:5 = sparsek.block_select %u queries = %n k = 4, window = 8, block_size = 32
      : (tensor<?x?x?xf32>, index)
        -> (tensor<?x?x?xf32>, tensor<?x?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?x35xi32>, tensor<?x?x?xi32>)
  %o, %lse = sparsek.block_attention %q, %k, %v, %u, %s#0, %s#1, %s#2, %s#3, %s#4 window = 8, block_size = 32
      : (tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>,
         tensor<?x?x?xf32>, tensor<?x?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?x35xi32>, tensor<?x?x?xi32>)
        -> (tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>)
  return %o, %lse, %s#0, %s#1, %s#2, %s#3, %s#4 : tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>, tensor<?x?x?xf32>,
      tensor<?x?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?x35xi32>, tensor<?x?x?xi32>
}

func.func @backward_bf16(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>,
                         %u: tensor<?x?x?xf32>, %o: tensor<?x?x?x64xbf16>, %g: tensor<?x?x?x64xbf16>,
                         %lse: tensor<?x?x?xf32>, %s0: tensor<?x?x?xf32>, %s1: tensor<?x?x?xi32>,
                         %s2: tensor<?x?x?xf32>, %s3: tensor<?x?x?x35xi32>, %s4: tensor<?x?x?xi32>)
    -> (tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>) {
  %dq, %dk, %dv, %du = sparsek.block_attention_backward %q, %k, %v, %u, %o, %g, %lse, %s0, %s1, %s2, %s3, %s4
      k = 4, window = 8, block_size = 32
      : (tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>,
         tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xi32>,
         tensor<?x?x?xf32>, tensor<?x?x?x35xi32>, tensor<?x?x?xi32>)
        -> (tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>)
  return %dq, %dk, %dv, %du : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>
}

func.func @pair_f32(%q: tensor<1x2x?x8xf32>, %k: tensor<1x1x?x8xf32>, %v: tensor<1x1x?x8xf32>,
                    %u: tensor<1x1x?xf32>, %g: tensor<1x2x?x8xf32>)
    -> (tensor<1x2x?x8xf32>, tensor<1x1x?xf32>) {
  %c2 = arith.constant 2 : index
  %n = tensor.dim %q, %c2 : tensor<1x2x?x8xf32>
  %s:5 = "sparsek.block_select"(%u, %n) {k = 2 : i64, window = 1 : i64, block_size = 4 : i64}
      : (tensor<1x1x?xf32>, index)
        -> (tensor<1x1x?xf32>, tensor<1x1x?xi32>, tensor<1x1x?xf32>, tensor<1x1x?x5xi32>, tensor<1x1x?xi32>)
  %o:2 = "sparsek.block_attention"(%q, %k, %v, %u, %s#0, %s#1, %s#2, %s#3, %s#4) {window = 1 : i64, block_size = 4 : i64}
      : (tensor<1x2x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?xf32>,
         tensor<1x1x?xf32>, tensor<1x1x?xi32>, tensor<1x1x?xf32>, tensor<1x1x?x5xi32>, tensor<1x1x?xi32>)
        -> (tensor<1x2x?x8xf32>, tensor<1x2x?xf32>)
  %d:4 = "sparsek.block_attention_backward"(%q, %k, %v, %u, %o#0, %g, %o#1, %s#0, %s#1, %s#2, %s#3, %s#4)
      {k = 2 : i64, window = 1 : i64, block_size = 4 : i64}
      : (tensor<1x2x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?xf32>,
         tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?xi32>,
         tensor<1x1x?xf32>, tensor<1x1x?x5xi32>, tensor<1x1x?xi32>)
        -> (tensor<1x2x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?xf32>)
  return %d#0, %d#3 : tensor<1x2x?x8xf32>, tensor<1x1x?xf32>
}
