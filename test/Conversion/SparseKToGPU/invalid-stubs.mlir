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

// Ping-pong needs two groups of four warps: 64 queries of one head are
// four warps.
// expected-error @below {{ping_pong only for a forward kernel of 8 warps}}
func.func private @pingpong_four_warps(memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "block_attention", elem = bf16, d = 64 : i64, dv = 64 : i64, block_q = 64 : i64, heads = 1 : i64, key_tile = 32 : i64, window = 4 : i64, scale = 0.5 : f64, gate = #sparsek.gate<kv>, ping_pong = true}}
func.func @pp4(%m: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) {
  call @pingpong_four_warps(%m) : (memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// wgmma takes key tiles of 64 (one swizzled plane of P per warpgroup).
// expected-error @below {{wgmma only for a forward kernel of 4 or 8 warps with key tiles of 64}}
func.func private @wgmma_kt32(memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "block_attention", elem = bf16, d = 64 : i64, dv = 64 : i64, block_q = 64 : i64, heads = 1 : i64, key_tile = 32 : i64, window = 4 : i64, scale = 0.5 : f64, gate = #sparsek.gate<kv>, wgmma = true}}
func.func @wg32(%m: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) {
  call @wgmma_kt32(%m) : (memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// wgmma is a forward schedule: not for the backward kernel.
// expected-error @below {{wgmma only for a forward kernel of 4 or 8 warps with key tiles of 64}}
func.func private @wgmma_backward(memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "block_attention_backward", elem = bf16, d = 64 : i64, dv = 64 : i64, block_q = 64 : i64, heads = 1 : i64, key_tile = 64 : i64, window = 4 : i64, scale = 0.5 : f64, gate = #sparsek.gate<kv>, wgmma = true}}
func.func @wgb(%m: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) {
  call @wgmma_backward(%m) : (memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// Ping-pong is the forward kernel's schedule only.
// expected-error @below {{ping_pong only for a forward kernel of 8 warps}}
func.func private @pingpong_backward(memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "block_attention_backward", elem = bf16, d = 64 : i64, dv = 64 : i64, block_q = 128 : i64, heads = 1 : i64, key_tile = 32 : i64, window = 4 : i64, scale = 0.5 : f64, gate = #sparsek.gate<kv>, ping_pong = true}}
func.func @ppb(%m: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) {
  call @pingpong_backward(%m) : (memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// expected-error @below {{kernel stub signature must be (q, key, value, u, kth_score, kth_index, tau, union_keys, union_count, out)}}
func.func private @bad_signature(memref<?x?xbf16>) attributes {sparsek.kernel = {kind = "block_attention", elem = bf16, d = 64 : i64, dv = 64 : i64, block_q = 128 : i64, key_tile = 32 : i64, window = 4 : i64, scale = 0.5 : f64, gate = #sparsek.gate<kv>}}
func.func @g(%m: memref<?x?xbf16>) {
  call @bad_signature(%m) : (memref<?x?xbf16>) -> ()
  return
}

// -----

// Heads per block that do not make whole warps: an odd head count puts 16
// queries of one head in a warp, so 3 heads need a multiple of 16 queries.
// expected-error @below {{block_q and heads making whole warps of 16 rows}}
func.func private @bad_heads(memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "block_attention", elem = bf16, d = 64 : i64, dv = 64 : i64, block_q = 8 : i64, heads = 3 : i64, key_tile = 32 : i64, window = 4 : i64, scale = 0.5 : f64, gate = #sparsek.gate<kv>}}
func.func @h(%m: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) {
  call @bad_heads(%m) : (memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// More rows than 8 warps: 4 heads of 64 queries.
// expected-error @below {{at most 8 warps (128 rows)}}
func.func private @too_many_rows(memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "block_attention", elem = bf16, d = 64 : i64, dv = 64 : i64, block_q = 64 : i64, heads = 4 : i64, key_tile = 32 : i64, window = 4 : i64, scale = 0.5 : f64, gate = #sparsek.gate<kv>}}
func.func @i(%m: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) {
  call @too_many_rows(%m) : (memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// The backward kernel shares a key tile's m16 tiles out among the warps:
// 48 keys (3 tiles) do not divide 8 warps.
// expected-error @below {{the key tile's m16 tiles dividing the warps}}
func.func private @bad_backward_tile(memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "block_attention_backward", elem = bf16, d = 64 : i64, dv = 64 : i64, block_q = 32 : i64, heads = 4 : i64, key_tile = 48 : i64, window = 4 : i64, scale = 0.5 : f64, gate = #sparsek.gate<kv>}}
func.func @j(%m: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) {
  call @bad_backward_tile(%m) : (memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// expected-error @below {{threshold_term stub signature must be (u, tau, dtau, du, histogram, bounds, prefix)}}
func.func private @bad_threshold_term(memref<?xf32>) attributes {sparsek.kernel = {kind = "threshold_term", window = 4 : i64}}
func.func @k(%m: memref<?xf32>) {
  call @bad_threshold_term(%m) : (memref<?xf32>) -> ()
  return
}

// -----

// expected-error @below {{"threshold_term" with a window >= 0}}
func.func private @bad_threshold_window(memref<?xf32>) attributes {sparsek.kernel = {kind = "threshold_term", window = -1 : i64}}
func.func @l(%m: memref<?xf32>) {
  call @bad_threshold_window(%m) : (memref<?xf32>) -> ()
  return
}

// -----

// expected-error @below {{merge_tiles stub signature must be (tags, values, tags out, values out, zb, and with sums fz)}}
func.func private @bad_merge_tiles(memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "merge_tiles", sums = true}}
func.func @l(%m: memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) {
  call @bad_merge_tiles(%m) : (memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// A merge_tiles stub says which tree it builds (sums: a bool).
// expected-error @below {{"merge_tiles" with a bool sums}}
func.func private @merge_tiles_no_sums(memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "merge_tiles", sums = 1 : i64}}
func.func @m(%m: memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) {
  call @merge_tiles_no_sums(%m) : (memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// expected-error @below {{union_blocks stub signature must be (kth_rank, rank, union_keys, union_count)}}
func.func private @bad_union_blocks(memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "union_blocks", k = 8 : i64, window = 4 : i64, block_q = 16 : i64}}
func.func @u(%m: memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) {
  call @bad_union_blocks(%m) : (memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) -> ()
  return
}

// -----

// A union_blocks stub's block_q is at least 1.
// expected-error @below {{"union_blocks" with k >= 0, window >= 0 and block_q >= 1}}
func.func private @union_blocks_no_block(memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "union_blocks", k = 8 : i64, window = 4 : i64, block_q = 0 : i64}}
func.func @v(%m: memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) {
  call @union_blocks_no_block(%m) : (memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) -> ()
  return
}
