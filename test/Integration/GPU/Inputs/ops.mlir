// One destination-passing entry point per sparsek op, for the device check
// (scripts/device-check.sh runs them on the GPU against the reference:
// test/Integration/GPU/ops_driver.cpp). Shapes: B = 2, Hkv = 2, Hq = 8,
// M = N = 300, C = 48, D = 64, Dv = 32, k = 16, window = 24, bf16.
func.func @score(%x: tensor<2x300x48xbf16>, %w: tensor<2x48xbf16>, %b: tensor<2xf32>,
                 %out: memref<2x2x300xf32>) {
  %u = "sparsek.score"(%x, %w, %b) {slope = 0.125 : f64}
       : (tensor<2x300x48xbf16>, tensor<2x48xbf16>, tensor<2xf32>) -> tensor<2x2x300xf32>
  bufferization.materialize_in_destination %u in restrict writable %out : (tensor<2x2x300xf32>, memref<2x2x300xf32>) -> ()
  return
}

func.func @mask(%z: tensor<2x2x300xf32>, %p_out: memref<2x2x300xf32>, %tau_out: memref<2x2xf32>) {
  %p, %tau = "sparsek.mask"(%z) {k = 16 : i64} : (tensor<2x2x300xf32>) -> (tensor<2x2x300xf32>, tensor<2x2xf32>)
  bufferization.materialize_in_destination %p in restrict writable %p_out : (tensor<2x2x300xf32>, memref<2x2x300xf32>) -> ()
  bufferization.materialize_in_destination %tau in restrict writable %tau_out : (tensor<2x2xf32>, memref<2x2xf32>) -> ()
  return
}

func.func @threshold(%u: tensor<2x2x300xf32>, %out: memref<2x2x300xf32>) {
  %t = "sparsek.threshold"(%u) {k = 16 : i64, window = 24 : i64} : (tensor<2x2x300xf32>) -> tensor<2x2x300xf32>
  bufferization.materialize_in_destination %t in restrict writable %out : (tensor<2x2x300xf32>, memref<2x2x300xf32>) -> ()
  return
}

func.func @topk(%u: tensor<2x2x300xf32>, %out: memref<2x2x300x16xi32>) {
  %i = "sparsek.topk"(%u) {k = 16 : i64, window = 24 : i64} : (tensor<2x2x300xf32>) -> tensor<2x2x300x16xi32>
  bufferization.materialize_in_destination %i in restrict writable %out : (tensor<2x2x300x16xi32>, memref<2x2x300x16xi32>) -> ()
  return
}

func.func @gathered(%q: tensor<2x8x300x64xbf16>, %k: tensor<2x2x300x64xbf16>, %v: tensor<2x2x300x32xbf16>,
                    %u: tensor<2x2x300xf32>, %idx: tensor<2x2x300x16xi32>, %tau: tensor<2x2x300xf32>,
                    %out: memref<2x8x300x32xbf16>) {
  %o = "sparsek.gathered_attention"(%q, %k, %v, %u, %idx, %tau) {window = 24 : i64, gate = #sparsek.gate<logit>}
       : (tensor<2x8x300x64xbf16>, tensor<2x2x300x64xbf16>, tensor<2x2x300x32xbf16>, tensor<2x2x300xf32>,
          tensor<2x2x300x16xi32>, tensor<2x2x300xf32>) -> tensor<2x8x300x32xbf16>
  bufferization.materialize_in_destination %o in restrict writable %out : (tensor<2x8x300x32xbf16>, memref<2x8x300x32xbf16>) -> ()
  return
}

func.func @noncausal(%q: tensor<2x8x300x64xbf16>, %k: tensor<2x2x300x64xbf16>, %v: tensor<2x2x300x32xbf16>,
                     %u: tensor<2x2x300xf32>, %out: memref<2x8x300x32xbf16>) {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 16 : i64, window = 0 : i64, causal = false, gate = #sparsek.gate<v>}
       : (tensor<2x8x300x64xbf16>, tensor<2x2x300x64xbf16>, tensor<2x2x300x32xbf16>, tensor<2x2x300xf32>) -> tensor<2x8x300x32xbf16>
  bufferization.materialize_in_destination %o in restrict writable %out : (tensor<2x8x300x32xbf16>, memref<2x8x300x32xbf16>) -> ()
  return
}
