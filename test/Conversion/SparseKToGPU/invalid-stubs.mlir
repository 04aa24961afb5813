// sparsek-expand-kernel-stubs refuses stubs it cannot build a kernel for,
// with a diagnostic naming the rule (hand-written or mutated IR).
// RUN: sparsek-opt %s -split-input-file -verify-diagnostics --sparsek-expand-kernel-stubs

// expected-error @below {{invalid 'sparsek.kernel' configuration}}
func.func private @bad_dims(memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "block_attention", elem = bf16, d = 32 : i64, dv = 64 : i64, block_q = 128 : i64, key_tile = 32 : i64, window = 4 : i64, scale = 0.5 : f64, gate = #sparsek.gate<kv>}}
func.func @f(%m: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) {
  call @bad_dims(%m) : (memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// expected-error @below {{kernel stub signature must be (q, key, value, u, kth_score, kth_index, tau, union_keys, union_count, out)}}
func.func private @bad_signature(memref<?x?xbf16>) attributes {sparsek.kernel = {kind = "block_attention", elem = bf16, d = 64 : i64, dv = 64 : i64, block_q = 128 : i64, key_tile = 32 : i64, window = 4 : i64, scale = 0.5 : f64, gate = #sparsek.gate<kv>}}
func.func @g(%m: memref<?x?xbf16>) {
  call @bad_signature(%m) : (memref<?x?xbf16>) -> ()
  return
}
