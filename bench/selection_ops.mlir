// The standalone selection ops on the GPU (bench/gpu_selection_bench.cpp):
// sparsek.topk (N x k indices per row) and sparsek.threshold (N thresholds
// per row) over scores [1, 2, 65536] (the ops take N from their result
// type, so it is static here), k = 256, window = 512 (the benchmark
// layer's). Entry points take device memory.
func.func @sparsek_topk(%u: tensor<1x2x65536xf32>, %out: memref<1x2x65536x256xi32>) {
  %i = "sparsek.topk"(%u) {k = 256 : i64, window = 512 : i64}
       : (tensor<1x2x65536xf32>) -> tensor<1x2x65536x256xi32>
  bufferization.materialize_in_destination %i in restrict writable %out
    : (tensor<1x2x65536x256xi32>, memref<1x2x65536x256xi32>) -> ()
  return
}

func.func @sparsek_threshold(%u: tensor<1x2x65536xf32>, %out: memref<1x2x65536xf32>) {
  %t = "sparsek.threshold"(%u) {k = 256 : i64, window = 512 : i64}
       : (tensor<1x2x65536xf32>) -> tensor<1x2x65536xf32>
  bufferization.materialize_in_destination %t in restrict writable %out
    : (tensor<1x2x65536xf32>, memref<1x2x65536xf32>) -> ()
  return
}
