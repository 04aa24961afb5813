// The tuning table (lib/Conversion/SparseKToGPU/TuningTable.txt, format
// and lookup in Tuning.h): convert-sparsek-to-gpu takes each op's block
// size and key tiles, and the decode step's schedule, from the most
// specific matching line; print-tuning reports each choice and its line.
// A user's table (tuning-file) comes first; options given override both.
// Remarks (stderr) and IR (stdout) checked apart:
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu=print-tuning -mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=BUILTIN
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu | FileCheck %s --check-prefix=BUILTIN-IR
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="print-tuning tuning-file=%S/Inputs/tuning-table.txt" -mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=FILE
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="tuning-file=%S/Inputs/tuning-table.txt" | FileCheck %s --check-prefix=FILE-IR
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="print-tuning tuning-file=%S/Inputs/tuning-table.txt block-size=128 key-tile=32 decode-pre-issue=1" -mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=GIVEN
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="tuning-file=%S/Inputs/tuning-table.txt block-size=128 key-tile=32 decode-pre-issue=1" | FileCheck %s --check-prefix=GIVEN-IR
// The pipeline forwards its options (and gives block-size and key-tile to
// the pass only when they are set):
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa print-tuning tuning-file=%S/Inputs/tuning-table.txt" -mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPE
// The decode kernels' min-blocks reaches the PTX (.minnctapersm: the
// fused and the split tile kernels), and only when the table asks:
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa tuning-file=%S/Inputs/tuning-table.txt" | FileCheck %s --check-prefix=MINB
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=NOMINB
// Errors name the rule (and the line of a table):
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="tuning-file=%S/Inputs/tuning-bad.txt" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="tuning-file=%S/Inputs/no-such-table.txt" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="tuning-file=/dev/zero" 2>&1 | FileCheck %s --check-prefix=DEVZERO
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="tuning-file=%S/Inputs" 2>&1 | FileCheck %s --check-prefix=DIR
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="decode-pre-issue=3" 2>&1 | FileCheck %s --check-prefix=PRE
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="decode-fused-lengths=2" 2>&1 | FileCheck %s --check-prefix=LEN
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="decode-phase1-tiles=65" 2>&1 | FileCheck %s --check-prefix=P1
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="decode-min-blocks=9" 2>&1 | FileCheck %s --check-prefix=MB
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="decode-target-blocks=0" 2>&1 | FileCheck %s --check-prefix=TB
// The decode step's target blocks: the catch-all's 256 divided by the
// rows (B x Hkv) gives the splits; an option overrides it:
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="decode-target-blocks=1000" | FileCheck %s --check-prefix=TB-IR
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="block-size=-1" 2>&1 | FileCheck %s --check-prefix=BS
// RUN: not sparsek-opt %s --convert-sparsek-to-gpu="ping-pong=2" 2>&1 | FileCheck %s --check-prefix=PP
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="ping-pong=-1" 2>&1 | FileCheck %s --check-prefix=PP-PIPE
// ping-pong=0 keeps every warp in step (two stages) where the table asks
// for ping-pong; key tile 32 then fits static shared memory again:
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="ping-pong=0 key-tile=32" | FileCheck %s --check-prefix=NOPP-IR

// BAD: error: malformed tuning-file: {{.*}}tuning-bad.txt:3: unknown parameter 'key-tile' of kind decode
// MISSING: error: cannot read tuning-file '{{.*}}no-such-table.txt'
// DEVZERO: error: tuning-file '/dev/zero' must be a regular file of at most 1 MiB
// DIR: error: tuning-file '{{.*}}Inputs' must be a regular file of at most 1 MiB
// PRE: error: invalid decode-pre-issue 3: expected 1 or 2, or -1 (the tuning table's)
// LEN: error: invalid decode-fused-lengths 2: expected 0 or 1, or -1 (the tuning table's)
// P1: error: invalid decode-phase1-tiles 65: expected 0 to 64, or -1 (the tuning table's)
// MB: error: invalid decode-min-blocks 9: expected 0 to 8, or -1 (the tuning table's)
// TB: error: invalid decode-target-blocks 0: expected 1 to 65536, or -1 (the tuning table's)
// BS: error: invalid block-size -1 or key-tile 0: expected positive sizes (0: the tuning table's)
// PP: error: invalid ping-pong 2: expected 0, 1 or -1 (the tuning table's)
// PP-PIPE: invalid ping-pong -1: expected 0 or 1

// Static head dims and group (4): the built-in table's catch-all line, or
// the user's line for exactly this configuration.
// BUILTIN: remark: tuning attention sm_90 bf16 d128 dv128 k256 w512 group4: block-size=128 (TuningTable.txt:{{[0-9]+}})
// BUILTIN: remark: tuning attention sm_90 bf16 d128 dv128 k256 w512 group4: key-tile=64 (TuningTable.txt:{{[0-9]+}})
// BUILTIN: remark: tuning attention sm_90 bf16 d128 dv128 k256 w512 group4: ping-pong=1 (TuningTable.txt:{{[0-9]+}})
// BUILTIN-IR: call @sparsek_block_attention_bf16_d128_dv128_bq32_h4_bk64_w512_kv_s3db504f3_pp(
// NOPP-IR: call @sparsek_block_attention_bf16_d128_dv128_bq32_h4_bk32_w512_kv_s3db504f3(
// FILE: remark: tuning attention sm_90 bf16 d128 dv128 k256 w512 group4: block-size=64 ({{.*}}tuning-table.txt:3)
// FILE: remark: tuning attention sm_90 bf16 d128 dv128 k256 w512 group4: key-tile=16 ({{.*}}tuning-table.txt:3)
// FILE-IR: call @sparsek_block_attention_bf16_d128_dv128_bq16_h4_bk16_w512_kv_s3db504f3(
// GIVEN: remark: tuning attention sm_90 bf16 d128 dv128 k256 w512 group4: block-size=128 (pass option)
// GIVEN-IR: call @sparsek_block_attention_bf16_d128_dv128_bq32_h4_bk32_w512_kv_
// PIPE: remark: tuning attention sm_90 bf16 d128 dv128 k256 w512 group4: block-size=64 ({{.*}}tuning-table.txt:3)
// PIPE: remark: tuning attention sm_90 bf16 d128 dv128 k256 w512 group4: key-tile=16 ({{.*}}tuning-table.txt:3)
func.func @layer(%q: tensor<1x8x?x128xbf16>, %k: tensor<1x2x?x128xbf16>,
                 %v: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>)
    -> tensor<1x8x?x128xbf16> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 256 : i64, window = 512 : i64}
       : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>)
         -> tensor<1x8x?x128xbf16>
  return %o : tensor<1x8x?x128xbf16>
}

// -----

// Dynamic head dims and group: the block size from a line whose d, dv and
// group are `*`; each kernel's key tile from the line matching its head
// dims (the user's line 4 gives none: the built-in table's then).
// FILE: remark: tuning attention sm_90 bf16 d? dv? k256 w512 group?: block-size=32 ({{.*}}tuning-table.txt:4)
// Ping-pong only where a block has eight warps (block-size 32: two).
// FILE: remark: tuning attention sm_90 bf16 d128 dv128 k256 w512 group?: key-tile=64 (TuningTable.txt:{{[0-9]+}})
// FILE-IR: call @sparsek_block_attention_bf16_d128_dv128_bq8_h4_bk64_w512_kv_s3db504f3(
// FILE-IR: call @sparsek_block_attention_bf16_d128_dv128_bq32_h1_bk64_w512_kv_s3db504f3(
func.func @dynamic_layer(%q: tensor<?x?x?x?xbf16>, %k: tensor<?x?x?x?xbf16>,
                         %v: tensor<?x?x?x?xbf16>, %u: tensor<?x?x?xf32>)
    -> tensor<?x?x?x?xbf16> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 256 : i64, window = 512 : i64}
       : (tensor<?x?x?x?xbf16>, tensor<?x?x?x?xbf16>, tensor<?x?x?x?xbf16>, tensor<?x?x?xf32>)
         -> tensor<?x?x?x?xbf16>
  return %o : tensor<?x?x?x?xbf16>
}

// -----

// The decode step's schedule: the table's catch-all (the measured
// schedule: a stub without a schedule suffix), the user's line, or the
// options over it.
// BUILTIN: remark: tuning decode sm_90 bf16 d128 dv128 k4 w8 group4: phase1-tiles=3 (TuningTable.txt:{{[0-9]+}})
// BUILTIN: remark: tuning decode sm_90 bf16 d128 dv128 k4 w8 group4: pre-issue=1 (TuningTable.txt:{{[0-9]+}})
// BUILTIN: remark: tuning decode sm_90 bf16 d128 dv128 k4 w8 group4: fused-lengths=0 (TuningTable.txt:{{[0-9]+}})
// BUILTIN: remark: tuning decode sm_90 bf16 d128 dv128 k4 w8 group4: target-blocks=256 (TuningTable.txt:{{[0-9]+}})
// BUILTIN-IR-LABEL: func.func @step(
// BUILTIN-IR: %[[T:.*]] = arith.constant 256 : index
// BUILTIN-IR: arith.divui %[[T]]
// TB-IR-LABEL: func.func @step(
// TB-IR: %[[T:.*]] = arith.constant 1000 : index
// TB-IR: arith.divui %[[T]]
// BUILTIN-IR: func.func private @sparsek_decode_step_bf16_d128_k4_w8_kv_s{{[0-9a-f]+}}(
// BUILTIN-IR-SAME: fused_lengths = false, {{.*}}phase1_tiles = 3 : i64, pre_issue = 1 : i64
// FILE: remark: tuning decode sm_90 bf16 d128 dv128 k4 w8 group4: phase1-tiles=2 ({{.*}}tuning-table.txt:5)
// FILE: remark: tuning decode sm_90 bf16 d128 dv128 k4 w8 group4: min-blocks=3 ({{.*}}tuning-table.txt:5)
// FILE-IR: func.func private @sparsek_decode_step_bf16_d128_k4_w8_kv_s{{[0-9a-f]+}}_p2_i2_l_m3(
// FILE-IR-SAME: fused_lengths = true, {{.*}}min_blocks = 3 : i64, phase1_tiles = 2 : i64, pre_issue = 2 : i64
// GIVEN: remark: tuning decode sm_90 bf16 d128 dv128 k4 w8 group4: pre-issue=1 (pass option)
// GIVEN-IR: func.func private @sparsek_decode_step_bf16_d128_k4_w8_kv_s{{[0-9a-f]+}}_p2_i1_l_m3(
// MINB-LABEL: llvm.func @step(
// MINB-COUNT-2: .minnctapersm 3
// MINB-NOT: .minnctapersm
// NOMINB-NOT: .minnctapersm
func.func @step(%q: tensor<2x8x1x128xbf16>, %key: tensor<2x2x1x128xbf16>,
    %value: tensor<2x2x1x128xbf16>, %u: tensor<2x2x1xf32>,
    %o0: tensor<2x8x1x128xbf16>, %k0: tensor<2x2x12x128xbf16>,
    %v0: tensor<2x2x12x128xbf16>, %s0: tensor<2x2x12xf32>,
    %p0: tensor<2x2x12xi32>, %bs0: tensor<2x2x2x69xf32>,
    %bp0: tensor<2x2x2x69xi32>, %t0: tensor<2x2x3xf64>,
    %c0: tensor<2x2x3xi32>, %l0: tensor<2xi32>)
    -> (tensor<2x8x1x128xbf16>, tensor<2x2x12x128xbf16>) {
  %o, %keys, %values, %scores, %pos, %bs, %bp, %thr, %cnt, %len =
    sparsek.decode_step %q, %key, %value, %u
      into %o0, %k0, %v0, %s0, %p0, %bs0, %bp0, %t0, %c0, %l0 k = 4, window = 8
      : tensor<2x8x1x128xbf16>, tensor<2x2x1x128xbf16>, tensor<2x2x1x128xbf16>,
        tensor<2x2x1xf32>
      into tensor<2x8x1x128xbf16>, tensor<2x2x12x128xbf16>,
        tensor<2x2x12x128xbf16>, tensor<2x2x12xf32>, tensor<2x2x12xi32>,
        tensor<2x2x2x69xf32>, tensor<2x2x2x69xi32>, tensor<2x2x3xf64>,
        tensor<2x2x3xi32>, tensor<2xi32>
  return %o, %keys : tensor<2x8x1x128xbf16>, tensor<2x2x12x128xbf16>
}
