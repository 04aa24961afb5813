// A decode step through --sparsek-nvvm-pipeline for sm_90 and for older
// chips. Its kernels use two Hopper-only instructions that change nothing
// they compute: griddepcontrol (the update kernel lets the split attention
// kernel start at once; that kernel waits for it after its window tiles)
// and the update's L1 prefetch of the heaps' lines (LLVM's NVPTX selects
// it only for sm_90). For sm_80 and sm_86 sparsek-gpu-legalize-chip
// removes both, and ptxas accepts the kernels (the decode step crashed
// the backend there before: "Cannot select: intrinsic
// %llvm.nvvm.prefetch.L1").
// REQUIRES: ptxas
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=SM90
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_80 format=isa" | FileCheck %s --check-prefix=OLD --implicit-check-not=griddepcontrol --implicit-check-not=prefetch
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_86 format=isa" | FileCheck %s --check-prefix=OLD --implicit-check-not=griddepcontrol --implicit-check-not=prefetch
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_80" | FileCheck %s --check-prefix=CUBIN
// With PTX ISA 7.8 on sm_90 the prefetch goes (LLVM selects it from 8.0),
// griddepcontrol stays; without features, sm_90 means PTX ISA 7.8 too.
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_90 features=+ptx78 format=isa" | FileCheck %s --check-prefix=PTX78 --implicit-check-not=prefetch
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_90 features= format=isa" | FileCheck %s --check-prefix=PTX78 --implicit-check-not=prefetch

// The fused kernel (large batches) prefetches; the update kernel (smaller
// ones) waits for its predecessor, then triggers; the split tile kernel
// waits later (test/Conversion/SparseKToGPU/decode.mlir: where).
// SM90: gpu.binary @step_bf16_kernel [
// SM90-SAME: griddepcontrol.wait;
// SM90-SAME: prefetch.L1
// SM90: gpu.binary @step_bf16_kernel_1 [
// SM90-SAME: griddepcontrol.wait;
// SM90-SAME: griddepcontrol.launch_dependents;
// SM90: gpu.binary @step_bf16_kernel_2 [
// SM90-SAME: griddepcontrol.wait;
// PTX78: gpu.binary @step_bf16_kernel_1 [
// PTX78-SAME: griddepcontrol.launch_dependents;
// OLD: gpu.binary @step_bf16_kernel
// OLD-SAME: .target sm_8
// CUBIN: gpu.binary @step_bf16_kernel [#gpu.object<#nvvm.target<chip = "sm_80", features = "+ptx81">, {{.*}}bin = "\7FELF
func.func @step_bf16(%q: tensor<2x8x1x128xbf16>, %key: tensor<2x2x1x128xbf16>,
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
