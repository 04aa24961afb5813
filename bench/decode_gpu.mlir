// The decode benchmark's layer (issue 12, bench/gpu_decode_bench.cpp):
// Hq = 32, Hkv = 8, D = Dv = 128, bf16, k = 256, window = 512, band
// capacity 1024 (so 768 key/value slots and 1281 band entries per (batch,
// KV head)), gate kv; the batch and the prompt length dynamic. The state
// lives in the caller's device buffers and is updated in place (no copy:
// each step's kernels write where the state lies).
// Each step writes its output into its slice of `out` (the slice is the
// step's destination), so a step moves no data but the kernels'.

// The state of a batch of prompts (every prompt_lengths[b] tokens).
func.func @sparsek_decode_prefill(
    %key: tensor<?x8x?x128xbf16>, %value: tensor<?x8x?x128xbf16>,
    %u: tensor<?x8x?xf32>, %plen: tensor<?xi32>,
    %keys: memref<?x8x768x128xbf16>,
    %values: memref<?x8x768x128xbf16>,
    %scores: memref<?x8x768xf32>,
    %positions: memref<?x8x768xi32>,
    %band_scores: memref<?x8x2x1281xf32>,
    %band_positions: memref<?x8x2x1281xi32>,
    %threshold: memref<?x8x3xf64>,
    %counts: memref<?x8x3xi32>,
    %lengths: memref<?xi32>) attributes {llvm.emit_c_interface} {
  %t_keys = bufferization.to_tensor %keys restrict writable : memref<?x8x768x128xbf16> to tensor<?x8x768x128xbf16>
  %t_values = bufferization.to_tensor %values restrict writable : memref<?x8x768x128xbf16> to tensor<?x8x768x128xbf16>
  %t_scores = bufferization.to_tensor %scores restrict writable : memref<?x8x768xf32> to tensor<?x8x768xf32>
  %t_positions = bufferization.to_tensor %positions restrict writable : memref<?x8x768xi32> to tensor<?x8x768xi32>
  %t_band_scores = bufferization.to_tensor %band_scores restrict writable : memref<?x8x2x1281xf32> to tensor<?x8x2x1281xf32>
  %t_band_positions = bufferization.to_tensor %band_positions restrict writable : memref<?x8x2x1281xi32> to tensor<?x8x2x1281xi32>
  %t_threshold = bufferization.to_tensor %threshold restrict writable : memref<?x8x3xf64> to tensor<?x8x3xf64>
  %t_counts = bufferization.to_tensor %counts restrict writable : memref<?x8x3xi32> to tensor<?x8x3xi32>
  %t_lengths = bufferization.to_tensor %lengths restrict writable : memref<?xi32> to tensor<?xi32>
  %r:9 = "sparsek.decode_prefill"(%key, %value, %u, %plen, %t_keys, %t_values, %t_scores, %t_positions, %t_band_scores, %t_band_positions, %t_threshold, %t_counts, %t_lengths)
      {k = 256 : i64, window = 512 : i64}
      : (tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?xf32>,
         tensor<?xi32>, tensor<?x8x768x128xbf16>, tensor<?x8x768x128xbf16>, tensor<?x8x768xf32>, tensor<?x8x768xi32>, tensor<?x8x2x1281xf32>, tensor<?x8x2x1281xi32>, tensor<?x8x3xf64>, tensor<?x8x3xi32>, tensor<?xi32>) -> (tensor<?x8x768x128xbf16>, tensor<?x8x768x128xbf16>, tensor<?x8x768xf32>, tensor<?x8x768xi32>, tensor<?x8x2x1281xf32>, tensor<?x8x2x1281xi32>, tensor<?x8x3xf64>, tensor<?x8x3xi32>, tensor<?xi32>)
  bufferization.materialize_in_destination %r#0 in restrict writable %keys : (tensor<?x8x768x128xbf16>, memref<?x8x768x128xbf16>) -> ()
  bufferization.materialize_in_destination %r#1 in restrict writable %values : (tensor<?x8x768x128xbf16>, memref<?x8x768x128xbf16>) -> ()
  bufferization.materialize_in_destination %r#2 in restrict writable %scores : (tensor<?x8x768xf32>, memref<?x8x768xf32>) -> ()
  bufferization.materialize_in_destination %r#3 in restrict writable %positions : (tensor<?x8x768xi32>, memref<?x8x768xi32>) -> ()
  bufferization.materialize_in_destination %r#4 in restrict writable %band_scores : (tensor<?x8x2x1281xf32>, memref<?x8x2x1281xf32>) -> ()
  bufferization.materialize_in_destination %r#5 in restrict writable %band_positions : (tensor<?x8x2x1281xi32>, memref<?x8x2x1281xi32>) -> ()
  bufferization.materialize_in_destination %r#6 in restrict writable %threshold : (tensor<?x8x3xf64>, memref<?x8x3xf64>) -> ()
  bufferization.materialize_in_destination %r#7 in restrict writable %counts : (tensor<?x8x3xi32>, memref<?x8x3xi32>) -> ()
  bufferization.materialize_in_destination %r#8 in restrict writable %lengths : (tensor<?xi32>, memref<?xi32>) -> ()
  return
}

// n decoding steps (n = q's dim 2; token t's q, key, value and score at
// index t of dim 2), their outputs into `out` [B, Hq, n, D].
func.func @sparsek_decode_steps(
    %q: tensor<?x32x?x128xbf16>, %key: tensor<?x8x?x128xbf16>,
    %value: tensor<?x8x?x128xbf16>, %u: tensor<?x8x?xf32>,
    %out: memref<?x32x?x128xbf16>,
    %keys: memref<?x8x768x128xbf16>,
    %values: memref<?x8x768x128xbf16>,
    %scores: memref<?x8x768xf32>,
    %positions: memref<?x8x768xi32>,
    %band_scores: memref<?x8x2x1281xf32>,
    %band_positions: memref<?x8x2x1281xi32>,
    %threshold: memref<?x8x3xf64>,
    %counts: memref<?x8x3xi32>,
    %lengths: memref<?xi32>) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %q, %c0 : tensor<?x32x?x128xbf16>
  %n = tensor.dim %q, %c2 : tensor<?x32x?x128xbf16>
  %t_keys = bufferization.to_tensor %keys restrict writable : memref<?x8x768x128xbf16> to tensor<?x8x768x128xbf16>
  %t_values = bufferization.to_tensor %values restrict writable : memref<?x8x768x128xbf16> to tensor<?x8x768x128xbf16>
  %t_scores = bufferization.to_tensor %scores restrict writable : memref<?x8x768xf32> to tensor<?x8x768xf32>
  %t_positions = bufferization.to_tensor %positions restrict writable : memref<?x8x768xi32> to tensor<?x8x768xi32>
  %t_band_scores = bufferization.to_tensor %band_scores restrict writable : memref<?x8x2x1281xf32> to tensor<?x8x2x1281xf32>
  %t_band_positions = bufferization.to_tensor %band_positions restrict writable : memref<?x8x2x1281xi32> to tensor<?x8x2x1281xi32>
  %t_threshold = bufferization.to_tensor %threshold restrict writable : memref<?x8x3xf64> to tensor<?x8x3xf64>
  %t_counts = bufferization.to_tensor %counts restrict writable : memref<?x8x3xi32> to tensor<?x8x3xi32>
  %t_lengths = bufferization.to_tensor %lengths restrict writable : memref<?xi32> to tensor<?xi32>
  %o0 = bufferization.to_tensor %out restrict writable : memref<?x32x?x128xbf16> to tensor<?x32x?x128xbf16>
  %l:10 = scf.for %t = %c0 to %n step %c1 iter_args(%acc = %o0, %a0 = %t_keys, %a1 = %t_values, %a2 = %t_scores, %a3 = %t_positions, %a4 = %t_band_scores, %a5 = %t_band_positions, %a6 = %t_threshold, %a7 = %t_counts, %a8 = %t_lengths) -> (tensor<?x32x?x128xbf16>, tensor<?x8x768x128xbf16>, tensor<?x8x768x128xbf16>, tensor<?x8x768xf32>, tensor<?x8x768xi32>, tensor<?x8x2x1281xf32>, tensor<?x8x2x1281xi32>, tensor<?x8x3xf64>, tensor<?x8x3xi32>, tensor<?xi32>) {
    %qt = tensor.extract_slice %q[0, 0, %t, 0] [%b, 32, 1, 128] [1, 1, 1, 1] : tensor<?x32x?x128xbf16> to tensor<?x32x1x128xbf16>
    %kt = tensor.extract_slice %key[0, 0, %t, 0] [%b, 8, 1, 128] [1, 1, 1, 1] : tensor<?x8x?x128xbf16> to tensor<?x8x1x128xbf16>
    %vt = tensor.extract_slice %value[0, 0, %t, 0] [%b, 8, 1, 128] [1, 1, 1, 1] : tensor<?x8x?x128xbf16> to tensor<?x8x1x128xbf16>
    %ut = tensor.extract_slice %u[0, 0, %t] [%b, 8, 1] [1, 1, 1] : tensor<?x8x?xf32> to tensor<?x8x1xf32>
    %oi = tensor.extract_slice %acc[0, 0, %t, 0] [%b, 32, 1, 128] [1, 1, 1, 1] : tensor<?x32x?x128xbf16> to tensor<?x32x1x128xbf16>
    %s:10 = "sparsek.decode_step"(%qt, %kt, %vt, %ut, %oi, %a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8)
        {k = 256 : i64, window = 512 : i64}
        : (tensor<?x32x1x128xbf16>, tensor<?x8x1x128xbf16>, tensor<?x8x1x128xbf16>,
           tensor<?x8x1xf32>, tensor<?x32x1x128xbf16>, tensor<?x8x768x128xbf16>, tensor<?x8x768x128xbf16>, tensor<?x8x768xf32>, tensor<?x8x768xi32>, tensor<?x8x2x1281xf32>, tensor<?x8x2x1281xi32>, tensor<?x8x3xf64>, tensor<?x8x3xi32>, tensor<?xi32>)
        -> (tensor<?x32x1x128xbf16>, tensor<?x8x768x128xbf16>, tensor<?x8x768x128xbf16>, tensor<?x8x768xf32>, tensor<?x8x768xi32>, tensor<?x8x2x1281xf32>, tensor<?x8x2x1281xi32>, tensor<?x8x3xf64>, tensor<?x8x3xi32>, tensor<?xi32>)
    %acc2 = tensor.insert_slice %s#0 into %acc[0, 0, %t, 0] [%b, 32, 1, 128] [1, 1, 1, 1] : tensor<?x32x1x128xbf16> into tensor<?x32x?x128xbf16>
    scf.yield %acc2, %s#1, %s#2, %s#3, %s#4, %s#5, %s#6, %s#7, %s#8, %s#9 : tensor<?x32x?x128xbf16>, tensor<?x8x768x128xbf16>, tensor<?x8x768x128xbf16>, tensor<?x8x768xf32>, tensor<?x8x768xi32>, tensor<?x8x2x1281xf32>, tensor<?x8x2x1281xi32>, tensor<?x8x3xf64>, tensor<?x8x3xi32>, tensor<?xi32>
  }
  bufferization.materialize_in_destination %l#0 in restrict writable %out : (tensor<?x32x?x128xbf16>, memref<?x32x?x128xbf16>) -> ()
  bufferization.materialize_in_destination %l#1 in restrict writable %keys : (tensor<?x8x768x128xbf16>, memref<?x8x768x128xbf16>) -> ()
  bufferization.materialize_in_destination %l#2 in restrict writable %values : (tensor<?x8x768x128xbf16>, memref<?x8x768x128xbf16>) -> ()
  bufferization.materialize_in_destination %l#3 in restrict writable %scores : (tensor<?x8x768xf32>, memref<?x8x768xf32>) -> ()
  bufferization.materialize_in_destination %l#4 in restrict writable %positions : (tensor<?x8x768xi32>, memref<?x8x768xi32>) -> ()
  bufferization.materialize_in_destination %l#5 in restrict writable %band_scores : (tensor<?x8x2x1281xf32>, memref<?x8x2x1281xf32>) -> ()
  bufferization.materialize_in_destination %l#6 in restrict writable %band_positions : (tensor<?x8x2x1281xi32>, memref<?x8x2x1281xi32>) -> ()
  bufferization.materialize_in_destination %l#7 in restrict writable %threshold : (tensor<?x8x3xf64>, memref<?x8x3xf64>) -> ()
  bufferization.materialize_in_destination %l#8 in restrict writable %counts : (tensor<?x8x3xi32>, memref<?x8x3xi32>) -> ()
  bufferization.materialize_in_destination %l#9 in restrict writable %lengths : (tensor<?xi32>, memref<?xi32>) -> ()
  return
}

