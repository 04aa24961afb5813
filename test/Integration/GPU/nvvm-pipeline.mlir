// Every sparsek op through --sparsek-nvvm-pipeline (CI, no GPU): no sparsek,
// linalg or tensor op is left, every kernel is embedded as a cubin that
// ptxas accepted for sm_90 and for sm_80, and the host code launches
// through the mgpu* ABI of libsparsek_cuda_runtime. The layer itself runs
// on the H100 in scripts/device-check.sh.
// REQUIRES: ptxas
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline | FileCheck %s --implicit-check-not=sparsek. --implicit-check-not=linalg. --implicit-check-not=tensor.
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_80" | FileCheck %s --check-prefix=SM80
// Without features a newer chip gets its least PTX ISA version (the
// default +ptx81 is too old for sm_100).
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_100" | FileCheck %s --check-prefix=SM100
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="parallel-selection=0" | FileCheck %s --check-prefix=SWEEP
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=PTX
// Kernels wait for their stream predecessor (sparsek-gpu-grid-dependency)
// on sm_90, not on sm_80 (no griddepcontrol) nor with grid-dependency=off.
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_80 format=isa" | FileCheck %s --check-prefix=NODEP
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="format=isa grid-dependency=off" | FileCheck %s --check-prefix=NODEP
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=HOST
// (--implicit-check-not: nothing of sparsek, linalg or tensor anywhere.)
// CHECK-COUNT-5: gpu.binary @{{.*}} [#gpu.object<#nvvm.target<chip = "sm_90", features = "+ptx81">, {{.*}}bin = "\7FELF
// SM100: gpu.binary @{{.*}} [#gpu.object<#nvvm.target<chip = "sm_100", features = "+ptx86">, {{.*}}bin = "\7FELF
// SM80: gpu.binary @{{.*}} [#gpu.object<#nvvm.target<chip = "sm_80", features = "+ptx81">, {{.*}}bin = "\7FELF
// SWEEP: gpu.binary @{{.*}} [#gpu.object<#nvvm.target<chip = "sm_90", features = "+ptx81">, {{.*}}bin = "\7FELF
// PTX: .target sm_90
// PTX: __sparsek_grid_dependency_wait
// PTX: griddepcontrol.wait;
// PTX-NOT: griddepcontrol.launch_dependents
// NODEP-NOT: griddepcontrol
// NODEP-NOT: __sparsek_grid_dependency_wait
// HOST-DAG: call ptr @mgpuModuleLoad(
// HOST-DAG: call void @mgpuLaunchKernel(
// HOST-DAG: call ptr @mgpuMemAlloc(

func.func @score(%x: tensor<2x64x32xbf16>, %w: tensor<2x32xbf16>, %b: tensor<2xf32>) -> tensor<2x2x64xf32> {
  %u = "sparsek.score"(%x, %w, %b) {slope = 0.5 : f64} : (tensor<2x64x32xbf16>, tensor<2x32xbf16>, tensor<2xf32>) -> tensor<2x2x64xf32>
  return %u : tensor<2x2x64xf32>
}

func.func @mask(%z: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4xf32>) {
  %p, %t = "sparsek.mask"(%z) {k = 3 : i64} : (tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4xf32>)
  return %p, %t : tensor<4x64xf32>, tensor<4xf32>
}

func.func @layer(%q: tensor<1x8x256x64xbf16>, %k: tensor<1x2x256x64xbf16>, %v: tensor<1x2x256x64xbf16>,
                 %u: tensor<1x2x256xf32>) -> tensor<1x8x256x64xbf16> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 16 : i64, window = 32 : i64, gate = #sparsek.gate<logit>}
       : (tensor<1x8x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256xf32>) -> tensor<1x8x256x64xbf16>
  return %o : tensor<1x8x256x64xbf16>
}
