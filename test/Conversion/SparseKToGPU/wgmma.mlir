// The forward tensor-core kernel's wgmma (sm_90a) matrix multiplies
// (AttentionKernelConfig::wgmma, docs/design/TensorCoreAttention.md): per
// loop (window tiles, then union tiles) S = Q K^T is D / 16 = 8 wgmma
// m64n64k16 of a warpgroup and P V two planes of 64 value columns times
// 4 steps of 16 keys, 8 more, and the window loop a second P V (its
// interior tiles, without membership tests): 2 x 16 + 8 = 40 wgmma and no
// mma.sync.
// With ping-pong the loop holds S twice and P V three times: 2 x 40 = 80. In
// step, a tile's P V stays in flight until the next tile's S waits (the
// kernel's end waits for the last), so K and V take three stages: with the
// block's Q rows 134144 bytes of dynamic shared memory, plus 1024 to align
// them. P V is the inline register-A form
// (LLVM 22's op has none): llvm.inline_asm, not nvvm.wgmma.mma_async.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="chip=sm_90a wgmma=1 key-tile=64 ping-pong=0 block-size=128" --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=WG
// The built-in table asks for it on sm_90a for bf16, k 256, w 512:
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="chip=sm_90a" --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=WG
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="chip=sm_90a wgmma=1 key-tile=64 ping-pong=0 block-size=128" --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=WAIT
// 16-byte copies per thread: 8 of Q's rows, tile 0's 4 K and 4 V rows,
// then each of the loops' three copy sites (window loop: interior tiles or
// not; union loop) issues the next tile's 8 twice, from the window run's
// addresses or from the union keys: 8 + 8 + 3 x 16 = 64.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="chip=sm_90a wgmma=1 key-tile=64 ping-pong=0 block-size=128" --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=COPY
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="chip=sm_90a wgmma=1 key-tile=64 ping-pong=1 block-size=128" --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=PP
// Not on sm_90 (the table's line there is mma.sync's), nor with key tiles
// of 32:
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=SYNC
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="chip=sm_90a wgmma=1 key-tile=32" | FileCheck %s --check-prefix=KT32
// Four warps (block-size 64) are one warpgroup:
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="chip=sm_90a wgmma=1 key-tile=64 block-size=64" | FileCheck %s --check-prefix=FOUR
// The whole pipeline to PTX for sm_90a:
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa chip=sm_90a" | FileCheck %s --check-prefix=PTX
// wgmma is sm_90a's: the option names the rule on another chip.
// RUN: not sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="wgmma=1" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="wgmma=1" 2>&1 | FileCheck %s --check-prefix=PIPE

// WG-LABEL: func.func @layer
// WG: gpu.launch {{.*}} dynamic_shared_memory_size %c135168_i32
// WG: memref.view {{.*}} to memref<3x2x64x64xbf16, #gpu.address_space<workgroup>>
// WG: memref.view {{.*}} to memref<2x128x64xbf16, #gpu.address_space<workgroup>>
// WG-NOT: nvvm.mma.sync
// WG: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// WG-NEXT: gpu.barrier
// WG-COUNT-40: {{nvvm.wgmma.mma_async|llvm.inline_asm.*wgmma.mma_async}}
// WG-NOT: {{nvvm.wgmma.mma_async|llvm.inline_asm.*wgmma.mma_async}}
// WG-NOT: nvvm.mma.sync
// The window loop's S (waited for at once), its two P V (interior tiles or
// not; neither waited for), the union loop's S and P V, then one wait
// before O is read:
// WAIT-LABEL: func.func @layer
// WAIT: nvvm.wgmma.mma_async
// WAIT: nvvm.wgmma.commit.group.sync.aligned
// WAIT-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// WAIT-NOT: nvvm.wgmma.wait.group
// WAIT: llvm.inline_asm {{.*}}wgmma.mma_async
// WAIT: nvvm.wgmma.commit.group.sync.aligned
// WAIT-NOT: nvvm.wgmma.wait.group
// WAIT: llvm.inline_asm {{.*}}wgmma.mma_async
// WAIT: nvvm.wgmma.commit.group.sync.aligned
// WAIT-NOT: nvvm.wgmma.wait.group
// WAIT: nvvm.wgmma.mma_async
// WAIT: nvvm.wgmma.commit.group.sync.aligned
// WAIT-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// WAIT-NOT: nvvm.wgmma.wait.group
// WAIT: llvm.inline_asm {{.*}}wgmma.mma_async
// WAIT: nvvm.wgmma.commit.group.sync.aligned
// WAIT-NOT: nvvm.wgmma.wait.group
// WAIT: scf.yield
// WAIT-NOT: llvm.inline_asm {{.*}}wgmma.mma_async
// WAIT: nvvm.wgmma.wait.group.sync.aligned 0
// WAIT-NOT: nvvm.wgmma.wait.group
// WAIT: gpu.terminator
// COPY-LABEL: func.func @layer
// COPY-COUNT-64: nvgpu.device_async_copy
// COPY-NOT: nvgpu.device_async_copy
// PP-LABEL: func.func @layer
// PP-COUNT-80: {{nvvm.wgmma.mma_async|llvm.inline_asm.*wgmma.mma_async}}
// PP-NOT: {{nvvm.wgmma.mma_async|llvm.inline_asm.*wgmma.mma_async}}
// SYNC-LABEL: func.func @layer
// SYNC-NOT: nvvm.wgmma.mma_async
// SYNC: nvvm.mma.sync
// SYNC-NOT: nvvm.wgmma.mma_async
// KT32: call @sparsek_block_attention_bf16_d128_dv128_bq32_h4_bk32_w512_kv_s3db504f3(
// FOUR: call @sparsek_block_attention_bf16_d128_dv128_bq16_h4_bk64_w512_kv_s3db504f3_wg(
// PTX: .target sm_90a
// PTX: fence.proxy.async.shared::cta
// PTX: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHIP: wgmma=1 needs chip=sm_90a (wgmma is an sm_90a instruction), not 'sm_90'
// PIPE: wgmma=1 needs chip=sm_90a, not 'sm_90'
func.func @layer(%q: tensor<1x8x?x128xbf16>, %k: tensor<1x2x?x128xbf16>,
                 %v: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>)
    -> tensor<1x8x?x128xbf16> {
  %o = sparsek.attention %q, %k, %v, %u k = 256, window = 512
       : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>) -> tensor<1x8x?x128xbf16>
  return %o : tensor<1x8x?x128xbf16>
}
