// Every diagnostic of the sparsek verifiers: SPEC section 8 and the shape
// relations between operands and results. Each names the operand and rule.
// RUN: sparsek-opt %s -split-input-file -verify-diagnostics
// Each case alone must fail cleanly: a diagnostic and a non-zero exit, no crash.
// RUN: not sparsek-opt %s -split-input-file 2>&1 | FileCheck %s --check-prefix=EXIT
// EXIT-NOT: Stack dump
// EXIT-NOT: PLEASE submit a bug report

func.func @score_x_rank(%x: tensor<2x64xf32>, %w: tensor<2x32xf32>) -> tensor<2x2x64xf32> {
  // expected-error @+1 {{'x' must have rank 3 [B, M, C], got rank 2}}
  %u = "sparsek.score"(%x, %w) : (tensor<2x64xf32>, tensor<2x32xf32>) -> tensor<2x2x64xf32>
  return %u : tensor<2x2x64xf32>
}

// -----

func.func @score_x_type(%x: tensor<2x64x32xi32>, %w: tensor<2x32xf32>) -> tensor<2x2x64xf32> {
  // expected-error @+1 {{'x' must have element type f32, f16 or bf16, got 'i32'}}
  %u = "sparsek.score"(%x, %w) : (tensor<2x64x32xi32>, tensor<2x32xf32>) -> tensor<2x2x64xf32>
  return %u : tensor<2x2x64xf32>
}

// -----

func.func @score_u_type(%x: tensor<2x64x32xf32>, %w: tensor<2x32xf32>) -> tensor<2x2x64xf16> {
  // expected-error @+1 {{'u' must have element type f32, got 'f16'}}
  %u = "sparsek.score"(%x, %w) : (tensor<2x64x32xf32>, tensor<2x32xf32>) -> tensor<2x2x64xf16>
  return %u : tensor<2x2x64xf16>
}

// -----

func.func @score_feature_dim(%x: tensor<2x64x32xf32>, %w: tensor<2x16xf32>) -> tensor<2x2x64xf32> {
  // expected-error @+1 {{feature dim mismatch: 'x' has 32 at dim 2 but 'w_score' has 16 at dim 1}}
  %u = "sparsek.score"(%x, %w) : (tensor<2x64x32xf32>, tensor<2x16xf32>) -> tensor<2x2x64xf32>
  return %u : tensor<2x2x64xf32>
}

// -----

func.func @score_kv_heads(%x: tensor<2x64x32xf32>, %w: tensor<3x32xf32>) -> tensor<2x2x64xf32> {
  // expected-error @+1 {{KV heads mismatch: 'w_score' has 3 at dim 0 but 'u' has 2 at dim 1}}
  %u = "sparsek.score"(%x, %w) : (tensor<2x64x32xf32>, tensor<3x32xf32>) -> tensor<2x2x64xf32>
  return %u : tensor<2x2x64xf32>
}

// -----

func.func @score_length(%x: tensor<2x64x32xf32>, %w: tensor<2x32xf32>) -> tensor<2x2x63xf32> {
  // expected-error @+1 {{KV length mismatch: 'x' has 64 at dim 1 but 'u' has 63 at dim 2}}
  %u = "sparsek.score"(%x, %w) : (tensor<2x64x32xf32>, tensor<2x32xf32>) -> tensor<2x2x63xf32>
  return %u : tensor<2x2x63xf32>
}

// -----

func.func @score_bias(%x: tensor<2x64x32xf32>, %w: tensor<2x32xf32>, %b: tensor<3xf32>) -> tensor<2x2x64xf32> {
  // expected-error @+1 {{KV heads mismatch: 'w_score' has 2 at dim 0 but 'bias' has 3 at dim 0}}
  %u = "sparsek.score"(%x, %w, %b) : (tensor<2x64x32xf32>, tensor<2x32xf32>, tensor<3xf32>) -> tensor<2x2x64xf32>
  return %u : tensor<2x2x64xf32>
}

// -----

func.func @score_slope(%x: tensor<2x64x32xf32>, %w: tensor<2x32xf32>) -> tensor<2x2x64xf32> {
  // expected-error @+1 {{requires a finite slope}}
  %u = "sparsek.score"(%x, %w) {slope = 0x7FF0000000000000 : f64} : (tensor<2x64x32xf32>, tensor<2x32xf32>) -> tensor<2x2x64xf32>
  return %u : tensor<2x2x64xf32>
}

// -----

func.func @mask_k(%z: tensor<4x8xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{requires k >= 1 (selected KV pairs per query), got k = 0}}
  %p, %tau = "sparsek.mask"(%z) {k = 0 : i64} : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>)
  return %tau : tensor<4xf32>
}

// -----

func.func @mask_rank0(%z: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'z' must have rank >= 1}}
  %p, %tau = "sparsek.mask"(%z) {k = 1 : i64} : (tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %tau : tensor<f32>
}

// -----

func.func @mask_type(%z: tensor<4x8xf16>) -> tensor<4xf32> {
  // expected-error @+1 {{'z' must have element type f32, got 'f16'}}
  %p, %tau = "sparsek.mask"(%z) {k = 2 : i64} : (tensor<4x8xf16>) -> (tensor<4x8xf16>, tensor<4xf32>)
  return %tau : tensor<4xf32>
}

// -----

func.func @mask_p_shape(%z: tensor<4x8xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{shape mismatch: 'z' has 8 at dim 1 but 'p' has 9 at dim 1}}
  %p, %tau = "sparsek.mask"(%z) {k = 2 : i64} : (tensor<4x8xf32>) -> (tensor<4x9xf32>, tensor<4xf32>)
  return %tau : tensor<4xf32>
}

// -----

func.func @mask_tau_rank(%z: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'tau' must have rank 1 (the rank of 'z' minus one), got rank 2}}
  %p, %tau = "sparsek.mask"(%z) {k = 2 : i64} : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>)
  return %tau : tensor<4x8xf32>
}

// -----

func.func @mask_tau_shape(%z: tensor<4x8xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{leading shape mismatch: 'z' has 4 at dim 0 but 'tau' has 5 at dim 0}}
  %p, %tau = "sparsek.mask"(%z) {k = 2 : i64} : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<5xf32>)
  return %tau : tensor<5xf32>
}

// -----

func.func @threshold_k(%u: tensor<1x2x64xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{requires k >= 1 (selected KV pairs per query), got k = -3}}
  %t = "sparsek.threshold"(%u) {k = -3 : i64, window = 4 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x64xf32>
  return %t : tensor<1x2x64xf32>
}

// -----

func.func @threshold_window(%u: tensor<1x2x64xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{requires window >= 0 (sliding-window length), got window = -1}}
  %t = "sparsek.threshold"(%u) {k = 3 : i64, window = -1 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x64xf32>
  return %t : tensor<1x2x64xf32>
}

// -----

func.func @threshold_u_rank(%u: tensor<2x64xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{'u' must have rank 3 [B, Hkv, M], got rank 2}}
  %t = "sparsek.threshold"(%u) {k = 3 : i64, window = 1 : i64} : (tensor<2x64xf32>) -> tensor<1x2x64xf32>
  return %t : tensor<1x2x64xf32>
}

// -----

func.func @threshold_u_type(%u: tensor<1x2x64xbf16>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{'u' must have element type f32, got 'bf16'}}
  %t = "sparsek.threshold"(%u) {k = 3 : i64, window = 1 : i64} : (tensor<1x2x64xbf16>) -> tensor<1x2x64xf32>
  return %t : tensor<1x2x64xf32>
}

// -----

func.func @threshold_batch(%u: tensor<1x2x64xf32>) -> tensor<2x2x64xf32> {
  // expected-error @+1 {{batch mismatch: 'u' has 1 at dim 0 but 'tau' has 2 at dim 0}}
  %t = "sparsek.threshold"(%u) {k = 3 : i64, window = 1 : i64} : (tensor<1x2x64xf32>) -> tensor<2x2x64xf32>
  return %t : tensor<2x2x64xf32>
}

// -----

func.func @threshold_heads(%u: tensor<1x2x64xf32>) -> tensor<1x4x64xf32> {
  // expected-error @+1 {{KV heads mismatch: 'u' has 2 at dim 1 but 'tau' has 4 at dim 1}}
  %t = "sparsek.threshold"(%u) {k = 3 : i64, window = 1 : i64} : (tensor<1x2x64xf32>) -> tensor<1x4x64xf32>
  return %t : tensor<1x4x64xf32>
}

// -----

func.func @threshold_n_gt_m(%u: tensor<1x2x64xf32>) -> tensor<1x2x65xf32> {
  // expected-error @+1 {{query length N = 65 ('tau' dim 2) exceeds KV length M = 64 ('u' dim 2); N <= M is required}}
  %t = "sparsek.threshold"(%u) {k = 3 : i64, window = 1 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x65xf32>
  return %t : tensor<1x2x65xf32>
}

// -----

func.func @threshold_missing_k(%u: tensor<1x2x64xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{requires attribute 'k'}}
  %t = "sparsek.threshold"(%u) {window = 1 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x64xf32>
  return %t : tensor<1x2x64xf32>
}

// -----

func.func @threshold_k_i32(%u: tensor<1x2x64xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{attribute 'k' failed to satisfy constraint: 64-bit signless integer attribute}}
  %t = "sparsek.threshold"(%u) {k = 3 : i32, window = 1 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x64xf32>
  return %t : tensor<1x2x64xf32>
}

// -----

func.func @topk_last_dim(%u: tensor<1x2x64xf32>) -> tensor<1x2x64x4xi32> {
  // expected-error @+1 {{'indices' last dim must equal k = 8, got 4}}
  %i = "sparsek.topk"(%u) {k = 8 : i64, window = 1 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x64x4xi32>
  return %i : tensor<1x2x64x4xi32>
}

// -----

func.func @topk_type(%u: tensor<1x2x64xf32>) -> tensor<1x2x64x8xi64> {
  // expected-error @+1 {{'indices' must have element type i32, got 'i64'}}
  %i = "sparsek.topk"(%u) {k = 8 : i64, window = 1 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x64x8xi64>
  return %i : tensor<1x2x64x8xi64>
}

// -----

func.func @topk_rank(%u: tensor<1x2x64xf32>) -> tensor<1x2x64xi32> {
  // expected-error @+1 {{'indices' must have rank 4 [B, Hkv, N, k], got rank 3}}
  %i = "sparsek.topk"(%u) {k = 8 : i64, window = 1 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x64xi32>
  return %i : tensor<1x2x64xi32>
}

// -----

func.func @topk_n_gt_m(%u: tensor<1x2x8xf32>) -> tensor<1x2x9x2xi32> {
  // expected-error @+1 {{query length N = 9 ('indices' dim 2) exceeds KV length M = 8}}
  %i = "sparsek.topk"(%u) {k = 2 : i64, window = 0 : i64} : (tensor<1x2x8xf32>) -> tensor<1x2x9x2xi32>
  return %i : tensor<1x2x9x2xi32>
}

// -----

func.func @topk_unranked(%u: tensor<*xf32>) -> tensor<1x2x9x2xi32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of any type values}}
  %i = "sparsek.topk"(%u) {k = 2 : i64, window = 0 : i64} : (tensor<*xf32>) -> tensor<1x2x9x2xi32>
  return %i : tensor<1x2x9x2xi32>
}

// -----

func.func @ga_window(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{requires window >= 0 (sliding-window length), got window = -2}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = -2 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_scale_zero(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{requires scale > 0 (finite softmax scale), got scale = 0.000000e+00}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64, scale = 0.0 : f64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_scale_negative(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{requires scale > 0 (finite softmax scale), got scale = -1.000000e+00}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64, scale = -1.0 : f64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_scale_nan(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{requires scale > 0 (finite softmax scale)}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64, scale = 0x7FF8000000000000 : f64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_gqa(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x3x64x32xbf16>, %a2: tensor<1x3x64x48xbf16>, %a3: tensor<1x3x64xf32>, %a4: tensor<1x3x16x8xi32>, %a5: tensor<1x3x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{query heads Hq = 8 ('q' dim 1) must be a multiple of KV heads Hkv = 3 ('key' dim 1) (GQA: Hq % Hkv == 0)}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x3x64x32xbf16>, tensor<1x3x64x48xbf16>, tensor<1x3x64xf32>, tensor<1x3x16x8xi32>, tensor<1x3x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_q_rank(%a0: tensor<8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{'q' must have rank 4 [B, Hq, N, D], got rank 3}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_q_type(%a0: tensor<1x8x16x32xf64>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{'q' must have element type f32, f16 or bf16, got 'f64'}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xf64>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_key_type(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{'q' and 'key' must have the same element type, got 'bf16' and 'f16'}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_out_type(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xf32> {
  // expected-error @+1 {{'q' and 'out' must have the same element type, got 'bf16' and 'f32'}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xf32>
  return %o : tensor<1x8x16x48xf32>
}

// -----

func.func @ga_head_dim(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x16xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{head dim mismatch: 'q' has 32 at dim 3 but 'key' has 16 at dim 3}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x16xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_value_dim(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x40xbf16> {
  // expected-error @+1 {{value head dim mismatch: 'value' has 48 at dim 3 but 'out' has 40 at dim 3}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x40xbf16>
  return %o : tensor<1x8x16x40xbf16>
}

// -----

func.func @ga_kv_length(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x63x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{KV length mismatch: 'key' has 64 at dim 2 but 'value' has 63 at dim 2}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x63x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_u_length(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x60xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{KV length mismatch: 'key' has 64 at dim 2 but 'u' has 60 at dim 2}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x60xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_u_type(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xbf16>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{'u' must have element type f32, got 'bf16'}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xbf16>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_indices_type(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi64>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{'indices' must have element type i32, got 'i64'}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi64>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_indices_n(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x15x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{query length mismatch: 'q' has 16 at dim 2 but 'indices' has 15 at dim 2}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x15x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_indices_k0(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x0xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{'indices' last dim (k) must be >= 1, got 0}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x0xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_tau_heads(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x1x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{KV heads mismatch: 'key' has 2 at dim 1 but 'tau' has 1 at dim 1}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x1x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_batch(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<2x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16> {
  // expected-error @+1 {{batch mismatch: 'q' has 1 at dim 0 but 'value' has 2 at dim 0}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<2x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  return %o : tensor<1x8x16x48xbf16>
}

// -----

func.func @ga_out_heads(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x48xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x4x16x48xbf16> {
  // expected-error @+1 {{query heads mismatch: 'q' has 8 at dim 1 but 'out' has 4 at dim 1}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x4x16x48xbf16>
  return %o : tensor<1x4x16x48xbf16>
}

// -----

func.func @attn_k(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{requires k >= 1 (selected KV pairs per query), got k = 0}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 0 : i64, window = 8 : i64} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_window(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{requires window >= 0 (sliding-window length), got window = -8}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = -8 : i64} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_noncausal_window(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{non-causal attention (causal = false) requires window = 0, got window = 8}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 8 : i64, causal = false} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_scale(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{requires scale > 0 (finite softmax scale), got scale = -5.000000e-01}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 8 : i64, scale = -0.5 : f64} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_gqa(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x3x64x32xf16>, %a2: tensor<1x3x64x32xf16>, %a3: tensor<1x3x64xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{query heads Hq = 8 ('q' dim 1) must be a multiple of KV heads Hkv = 3 ('key' dim 1)}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 8 : i64} : (tensor<1x8x16x32xf16>, tensor<1x3x64x32xf16>, tensor<1x3x64x32xf16>, tensor<1x3x64xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_n_gt_m(%a0: tensor<1x8x80x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64xf32>) -> tensor<1x8x80x32xf16> {
  // expected-error @+1 {{query length N = 80 ('q' dim 2) exceeds KV length M = 64 ('key' dim 2); N <= M is required}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 8 : i64} : (tensor<1x8x80x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> tensor<1x8x80x32xf16>
  return %o : tensor<1x8x80x32xf16>
}

// -----

func.func @attn_type(%a0: tensor<1x8x16x32xf64>, %a1: tensor<1x2x64x32xf64>, %a2: tensor<1x2x64x32xf64>, %a3: tensor<1x2x64xf32>) -> tensor<1x8x16x32xf64> {
  // expected-error @+1 {{'q' must have element type f32, f16 or bf16, got 'f64'}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 8 : i64} : (tensor<1x8x16x32xf64>, tensor<1x2x64x32xf64>, tensor<1x2x64x32xf64>, tensor<1x2x64xf32>) -> tensor<1x8x16x32xf64>
  return %o : tensor<1x8x16x32xf64>
}

// -----

func.func @attn_int_type(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xi8>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{'key' must have element type f32, f16 or bf16, got 'i8'}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 8 : i64} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xi8>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_u_rank(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64x1xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{'u' must have rank 3 [B, Hkv, M], got rank 4}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 8 : i64} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x1xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_u_heads(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x4x64xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{KV heads mismatch: 'key' has 2 at dim 1 but 'u' has 4 at dim 1}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 8 : i64} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x4x64xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_out_length(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64xf32>) -> tensor<1x8x17x32xf16> {
  // expected-error @+1 {{query length mismatch: 'q' has 16 at dim 2 but 'out' has 17 at dim 2}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 8 : i64} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> tensor<1x8x17x32xf16>
  return %o : tensor<1x8x17x32xf16>
}

// -----

func.func @attn_gqa_zero(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x0x64x32xf16>, %a2: tensor<1x0x64x32xf16>, %a3: tensor<1x0x64xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{query heads Hq = 8 ('q' dim 1) must be a multiple of KV heads Hkv = 0}}
  %o = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 8 : i64} : (tensor<1x8x16x32xf16>, tensor<1x0x64x32xf16>, tensor<1x0x64x32xf16>, tensor<1x0x64xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_bad_gate(%q: tensor<1x8x16x32xf16>, %k: tensor<1x2x64x32xf16>, %v: tensor<1x2x64x32xf16>, %u: tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+2 {{expected ::mlir::sparsek::Gate to be one of: kv, v, logit, none}}
  // expected-error @+1 {{failed to parse SparseK_GateAttr parameter 'value'}}
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 4 : i64, window = 8 : i64, gate = #sparsek.gate<soft>} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_operands(%q: tensor<1x8x16x32xf16>, %k: tensor<1x2x64x32xf16>, %v: tensor<1x2x64x32xf16>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{expected 4 operands, but found 3}}
  %o = "sparsek.attention"(%q, %k, %v) {k = 4 : i64, window = 8 : i64} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attn_gate_type(%q: tensor<1x8x16x32xf16>, %k: tensor<1x2x64x32xf16>, %v: tensor<1x2x64x32xf16>, %u: tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16> {
  // expected-error @+1 {{attribute 'gate' failed to satisfy constraint}}
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 4 : i64, window = 8 : i64, gate = 1 : i32} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> tensor<1x8x16x32xf16>
  return %o : tensor<1x8x16x32xf16>
}

// -----

func.func @attention_zero_head_dim(%q: tensor<1x2x4x0xf32>, %k: tensor<1x2x4x0xf32>, %v: tensor<1x2x4x8xf32>, %u: tensor<1x2x4xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{head dim D ('q' dim 3) must be >= 1, got 0}}
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 2 : i64, window = 1 : i64} : (tensor<1x2x4x0xf32>, tensor<1x2x4x0xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

func.func @ga_zero_value_dim(%a0: tensor<1x8x16x32xbf16>, %a1: tensor<1x2x64x32xbf16>, %a2: tensor<1x2x64x0xbf16>, %a3: tensor<1x2x64xf32>, %a4: tensor<1x2x16x8xi32>, %a5: tensor<1x2x16xf32>) -> tensor<1x8x16x0xbf16> {
  // expected-error @+1 {{value head dim Dv ('value' dim 3) must be >= 1, got 0}}
  %o = "sparsek.gathered_attention"(%a0, %a1, %a2, %a3, %a4, %a5) {window = 4 : i64} : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x0xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x0xbf16>
  return %o : tensor<1x8x16x0xbf16>
}

// -----

func.func @block_select_block_size(%u: tensor<1x2x64xf32>) {
  // expected-error @+1 {{requires block_size >= 1 (queries per block), got block_size = 0}}
  %a, %b, %c, %d, %e = "sparsek.block_select"(%u) {k = 8 : i64, window = 16 : i64, block_size = 0 : i64}
      : (tensor<1x2x64xf32>) -> (tensor<1x2x64xf32>, tensor<1x2x64xi32>, tensor<1x2x64xf32>, tensor<1x2x16x11xi32>, tensor<1x2x16xi32>)
  return
}

// -----

func.func @block_select_blocks(%u: tensor<1x2x64xf32>) {
  // expected-error @+1 {{query blocks: 'union_keys' dim 2 must be ceil(N / 4) = 16 for N = 64, got 15}}
  %a, %b, %c, %d, %e = "sparsek.block_select"(%u) {k = 8 : i64, window = 16 : i64, block_size = 4 : i64}
      : (tensor<1x2x64xf32>) -> (tensor<1x2x64xf32>, tensor<1x2x64xi32>, tensor<1x2x64xf32>, tensor<1x2x15x11xi32>, tensor<1x2x15xi32>)
  return
}

// -----

func.func @block_select_width(%u: tensor<1x2x64xf32>) {
  // expected-error @+1 {{'union_keys' last dim must equal k + block_size - 1 = 11, got 12}}
  %a, %b, %c, %d, %e = "sparsek.block_select"(%u) {k = 8 : i64, window = 16 : i64, block_size = 4 : i64}
      : (tensor<1x2x64xf32>) -> (tensor<1x2x64xf32>, tensor<1x2x64xi32>, tensor<1x2x64xf32>, tensor<1x2x16x12xi32>, tensor<1x2x16xi32>)
  return
}

// -----

func.func @block_select_index_type(%u: tensor<1x2x64xf32>) {
  // expected-error @+1 {{'kth_index' must have element type i32, got 'f32'}}
  %a, %b, %c, %d, %e = "sparsek.block_select"(%u) {k = 8 : i64, window = 16 : i64, block_size = 4 : i64}
      : (tensor<1x2x64xf32>) -> (tensor<1x2x64xf32>, tensor<1x2x64xf32>, tensor<1x2x64xf32>, tensor<1x2x16x11xi32>, tensor<1x2x16xi32>)
  return
}

// -----

func.func @block_select_n_gt_m(%u: tensor<1x2x64xf32>) {
  // expected-error @+1 {{query length N = 65 ('kth_score' dim 2) exceeds KV length M = 64 ('u' dim 2); N <= M is required}}
  %a, %b, %c, %d, %e = "sparsek.block_select"(%u) {k = 8 : i64, window = 16 : i64, block_size = 5 : i64}
      : (tensor<1x2x64xf32>) -> (tensor<1x2x65xf32>, tensor<1x2x65xi32>, tensor<1x2x65xf32>, tensor<1x2x13x12xi32>, tensor<1x2x13xi32>)
  return
}

// -----

func.func @block_select_dynamic_n(%u: tensor<1x2x?xf32>) {
  // expected-error @+1 {{a dynamic query length N (result 'kth_score' dim 2) requires the 'queries' operand (N)}}
  %a, %b, %c, %d, %e = "sparsek.block_select"(%u) {k = 8 : i64, window = 16 : i64, block_size = 4 : i64}
      : (tensor<1x2x?xf32>) -> (tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>, tensor<1x2x?x11xi32>, tensor<1x2x?xi32>)
  return
}

// -----

func.func @block_select_static_n_queries(%u: tensor<1x2x64xf32>, %n: index) {
  // expected-error @+1 {{takes the 'queries' operand only for a dynamic query length N; N = 64 is static}}
  %a, %b, %c, %d, %e = "sparsek.block_select"(%u, %n) {k = 8 : i64, window = 16 : i64, block_size = 4 : i64}
      : (tensor<1x2x64xf32>, index) -> (tensor<1x2x64xf32>, tensor<1x2x64xi32>, tensor<1x2x64xf32>, tensor<1x2x16x11xi32>, tensor<1x2x16xi32>)
  return
}

// -----

func.func @block_select_queries_range(%u: tensor<1x2x64xf32>) {
  %n = arith.constant 65 : index
  // expected-error @+1 {{'queries' (N) = 65 must be in [0, M] with M = 64}}
  %a, %b, %c, %d, %e = "sparsek.block_select"(%u, %n) {k = 8 : i64, window = 16 : i64, block_size = 4 : i64}
      : (tensor<1x2x64xf32>, index) -> (tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>, tensor<1x2x?x11xi32>, tensor<1x2x?xi32>)
  return
}

// -----

func.func @block_attention_lse_shape(%q: tensor<2x4x50x8xbf16>, %k: tensor<2x2x64x8xbf16>, %v: tensor<2x2x64x8xbf16>,
                                     %u: tensor<2x2x64xf32>, %s: tensor<2x2x50xf32>, %i: tensor<2x2x50xi32>,
                                     %t: tensor<2x2x50xf32>, %un: tensor<2x2x13x11xi32>, %c: tensor<2x2x13xi32>) {
  // expected-error @+1 {{query heads mismatch: 'q' has 4 at dim 1 but 'lse' has 2 at dim 1}}
  %o:2 = "sparsek.block_attention"(%q, %k, %v, %u, %s, %i, %t, %un, %c) {window = 16 : i64, block_size = 4 : i64}
      : (tensor<2x4x50x8xbf16>, tensor<2x2x64x8xbf16>, tensor<2x2x64x8xbf16>, tensor<2x2x64xf32>, tensor<2x2x50xf32>, tensor<2x2x50xi32>, tensor<2x2x50xf32>, tensor<2x2x13x11xi32>, tensor<2x2x13xi32>)
        -> (tensor<2x4x50x8xbf16>, tensor<2x2x50xf32>)
  return
}

// -----

func.func @block_backward_blocks(%q: tensor<1x4x8x16xbf16>, %k: tensor<1x2x8x16xbf16>, %v: tensor<1x2x8x8xbf16>,
                                 %u: tensor<1x2x8xf32>, %o: tensor<1x4x8x8xbf16>, %g: tensor<1x4x8x8xbf16>, %l: tensor<1x4x8xf32>,
                                 %s: tensor<1x2x8xf32>, %i: tensor<1x2x8xi32>, %t: tensor<1x2x8xf32>, %un: tensor<1x2x3x7xi32>, %c: tensor<1x2x3xi32>) {
  // expected-error @+1 {{query blocks: 'union_keys' dim 2 must be ceil(N / 4) = 2 for N = 8, got 3}}
  %r:4 = "sparsek.block_attention_backward"(%q, %k, %v, %u, %o, %g, %l, %s, %i, %t, %un, %c) {k = 4 : i64, window = 2 : i64, block_size = 4 : i64}
      : (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>, tensor<1x4x8x8xbf16>, tensor<1x4x8x8xbf16>, tensor<1x4x8xf32>,
         tensor<1x2x8xf32>, tensor<1x2x8xi32>, tensor<1x2x8xf32>, tensor<1x2x3x7xi32>, tensor<1x2x3xi32>)
        -> (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>)
  return
}

// -----

func.func @block_backward_block_size(%q: tensor<1x4x8x16xbf16>, %k: tensor<1x2x8x16xbf16>, %v: tensor<1x2x8x8xbf16>,
                                     %u: tensor<1x2x8xf32>, %o: tensor<1x4x8x8xbf16>, %g: tensor<1x4x8x8xbf16>, %l: tensor<1x4x8xf32>,
                                     %s: tensor<1x2x8xf32>, %i: tensor<1x2x8xi32>, %t: tensor<1x2x8xf32>, %un: tensor<1x2x2x7xi32>, %c: tensor<1x2x2xi32>) {
  // expected-error @+1 {{requires 1 <= block_size <= 2^30 (queries per block), got block_size = 0}}
  %r:4 = "sparsek.block_attention_backward"(%q, %k, %v, %u, %o, %g, %l, %s, %i, %t, %un, %c) {k = 4 : i64, window = 2 : i64, block_size = 0 : i64}
      : (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>, tensor<1x4x8x8xbf16>, tensor<1x4x8x8xbf16>, tensor<1x4x8xf32>,
         tensor<1x2x8xf32>, tensor<1x2x8xi32>, tensor<1x2x8xf32>, tensor<1x2x2x7xi32>, tensor<1x2x2xi32>)
        -> (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>)
  return
}

// -----

func.func @block_backward_lse_type(%q: tensor<1x4x8x16xbf16>, %k: tensor<1x2x8x16xbf16>, %v: tensor<1x2x8x8xbf16>,
                                   %u: tensor<1x2x8xf32>, %o: tensor<1x4x8x8xbf16>, %g: tensor<1x4x8x8xbf16>, %l: tensor<1x4x8xbf16>,
                                   %s: tensor<1x2x8xf32>, %i: tensor<1x2x8xi32>, %t: tensor<1x2x8xf32>, %un: tensor<1x2x2x7xi32>, %c: tensor<1x2x2xi32>) {
  // expected-error @+1 {{'lse' must have element type f32, got 'bf16'}}
  %r:4 = "sparsek.block_attention_backward"(%q, %k, %v, %u, %o, %g, %l, %s, %i, %t, %un, %c) {k = 4 : i64, window = 2 : i64, block_size = 4 : i64}
      : (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>, tensor<1x4x8x8xbf16>, tensor<1x4x8x8xbf16>, tensor<1x4x8xbf16>,
         tensor<1x2x8xf32>, tensor<1x2x8xi32>, tensor<1x2x8xf32>, tensor<1x2x2x7xi32>, tensor<1x2x2xi32>)
        -> (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>)
  return
}

// -----

func.func @backward_dout_shape(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x8xf32>,
                               %u: tensor<1x2x8xf32>, %o: tensor<1x4x8x8xf32>, %g: tensor<1x4x7x8xf32>) {
  // expected-error @+1 {{shape mismatch: 'out' has 8 at dim 2 but 'dout' has 7 at dim 2}}
  %dq, %dk, %dv, %du = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %g) {k = 4 : i64, window = 2 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x7x8xf32>)
        -> (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>)
  return
}

// -----

func.func @backward_dkey_shape(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x8xf32>,
                               %u: tensor<1x2x8xf32>, %o: tensor<1x4x8x8xf32>, %g: tensor<1x4x8x8xf32>) {
  // expected-error @+1 {{head dim mismatch: 'key' has 16 at dim 3 but 'dkey' has 8 at dim 3}}
  %dq, %dk, %dv, %du = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %g) {k = 4 : i64, window = 2 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>)
        -> (tensor<1x4x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>)
  return
}

// -----

func.func @backward_du_type(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x8xf32>,
                            %u: tensor<1x2x8xf32>, %o: tensor<1x4x8x8xf32>, %g: tensor<1x4x8x8xf32>) {
  // expected-error @+1 {{'du' must have element type f32, got 'bf16'}}
  %dq, %dk, %dv, %du = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %g) {k = 4 : i64, window = 2 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>)
        -> (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xbf16>)
  return
}

// -----

func.func @backward_noncausal_window(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x8xf32>,
                                     %u: tensor<1x2x8xf32>, %o: tensor<1x4x8x8xf32>, %g: tensor<1x4x8x8xf32>) {
  // expected-error @+1 {{non-causal attention (causal = false) requires window = 0, got window = 2}}
  %dq, %dk, %dv, %du = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %g) {k = 4 : i64, window = 2 : i64, causal = false}
      : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>)
        -> (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>)
  return
}

// -----

func.func @block_attention_blocks(%q: tensor<1x4x50x8xf32>, %k: tensor<1x2x64x8xf32>, %v: tensor<1x2x64x8xf32>,
                                  %u: tensor<1x2x64xf32>, %s: tensor<1x2x50xf32>, %i: tensor<1x2x50xi32>,
                                  %t: tensor<1x2x50xf32>, %un: tensor<1x2x12x11xi32>, %c: tensor<1x2x12xi32>) {
  // expected-error @+1 {{query blocks: 'union_keys' dim 2 must be ceil(N / 4) = 13 for N = 50, got 12}}
  %o = "sparsek.block_attention"(%q, %k, %v, %u, %s, %i, %t, %un, %c) {window = 16 : i64, block_size = 4 : i64}
      : (tensor<1x4x50x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64xf32>, tensor<1x2x50xf32>, tensor<1x2x50xi32>, tensor<1x2x50xf32>, tensor<1x2x12x11xi32>, tensor<1x2x12xi32>) -> tensor<1x4x50x8xf32>
  return
}

// -----

func.func @block_attention_block_size(%q: tensor<1x4x50x8xf32>, %k: tensor<1x2x64x8xf32>, %v: tensor<1x2x64x8xf32>,
                                      %u: tensor<1x2x64xf32>, %s: tensor<1x2x50xf32>, %i: tensor<1x2x50xi32>,
                                      %t: tensor<1x2x50xf32>, %un: tensor<1x2x13x11xi32>, %c: tensor<1x2x13xi32>) {
  // expected-error @+1 {{requires 1 <= block_size <= 2^30 (queries per block), got block_size = 0}}
  %o = "sparsek.block_attention"(%q, %k, %v, %u, %s, %i, %t, %un, %c) {window = 16 : i64, block_size = 0 : i64}
      : (tensor<1x4x50x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64xf32>, tensor<1x2x50xf32>, tensor<1x2x50xi32>, tensor<1x2x50xf32>, tensor<1x2x13x11xi32>, tensor<1x2x13xi32>) -> tensor<1x4x50x8xf32>
  return
}

// -----

func.func @block_attention_kth_type(%q: tensor<1x4x50x8xf32>, %k: tensor<1x2x64x8xf32>, %v: tensor<1x2x64x8xf32>,
                                    %u: tensor<1x2x64xf32>, %s: tensor<1x2x50xf32>, %i: tensor<1x2x50xf32>,
                                    %t: tensor<1x2x50xf32>, %un: tensor<1x2x13x11xi32>, %c: tensor<1x2x13xi32>) {
  // expected-error @+1 {{'kth_index' must have element type i32, got 'f32'}}
  %o = "sparsek.block_attention"(%q, %k, %v, %u, %s, %i, %t, %un, %c) {window = 16 : i64, block_size = 4 : i64}
      : (tensor<1x4x50x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64xf32>, tensor<1x2x50xf32>, tensor<1x2x50xf32>, tensor<1x2x50xf32>, tensor<1x2x13x11xi32>, tensor<1x2x13xi32>) -> tensor<1x4x50x8xf32>
  return
}

// -----

func.func @attn_lse_noncausal(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64xf32>) -> tensor<1x8x16xf32> {
  // expected-error @+1 {{'lse' (the forward's log-sum-exp) requires a causal layer (causal = true)}}
  %o, %l = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 0 : i64, causal = false} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> (tensor<1x8x16x32xf16>, tensor<1x8x16xf32>)
  return %l : tensor<1x8x16xf32>
}

// -----

func.func @attn_lse_type(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64xf32>) -> tensor<1x8x16xf16> {
  // expected-error @+1 {{'lse'}}
  %o, %l = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 0 : i64} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> (tensor<1x8x16x32xf16>, tensor<1x8x16xf16>)
  return %l : tensor<1x8x16xf16>
}

// -----

func.func @attn_lse_shape(%a0: tensor<1x8x16x32xf16>, %a1: tensor<1x2x64x32xf16>, %a2: tensor<1x2x64x32xf16>, %a3: tensor<1x2x64xf32>) -> tensor<1x2x16xf32> {
  // expected-error @+1 {{query heads}}
  %o, %l = "sparsek.attention"(%a0, %a1, %a2, %a3) {k = 4 : i64, window = 0 : i64} : (tensor<1x8x16x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64xf32>) -> (tensor<1x8x16x32xf16>, tensor<1x2x16xf32>)
  return %l : tensor<1x2x16xf32>
}

// -----

func.func @backward_lse_shape(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x8xf32>,
                              %u: tensor<1x2x8xf32>, %o: tensor<1x4x8x8xf32>, %g: tensor<1x4x8x8xf32>, %l: tensor<1x4x7xf32>) {
  // expected-error @+1 {{query length}}
  %dq, %dk, %dv, %du = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %g, %l) {k = 4 : i64, window = 2 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x7xf32>)
        -> (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>)
  return
}

// -----

func.func @backward_lse_noncausal(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x8xf32>,
                                  %u: tensor<1x2x8xf32>, %o: tensor<1x4x8x8xf32>, %g: tensor<1x4x8x8xf32>, %l: tensor<1x4x8xf32>) {
  // expected-error @+1 {{requires a causal layer}}
  %dq, %dk, %dv, %du = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %g, %l) {k = 4 : i64, window = 0 : i64, causal = false}
      : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8xf32>)
        -> (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8xf32>)
  return
}
