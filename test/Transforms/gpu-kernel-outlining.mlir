// sparsek-gpu-kernel-outlining: upstream outlining, and each launch's nvvm.*
// attributes (only those) on the kernel that replaced it, paired in order
// (here the second of three launches, one nested in an scf.if).
// RUN: sparsek-opt %s -split-input-file --sparsek-gpu-kernel-outlining | FileCheck %s
// The NVVM lowering turns the attribute into the PTX directive.
// RUN: sparsek-opt %s -split-input-file --sparsek-gpu-kernel-outlining --nvvm-attach-target="chip=sm_90" --convert-gpu-to-nvvm --gpu-module-to-binary="format=isa" | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @three
// CHECK: gpu.launch_func @three_kernel::@three_kernel
// CHECK: gpu.launch_func @three_kernel_0::@three_kernel
// CHECK: gpu.launch_func @three_kernel_1::@three_kernel
// CHECK: gpu.module @three_kernel
// CHECK-NOT: minctasm
// CHECK-NOT: sparsek.other
// CHECK: gpu.module @three_kernel_0
// CHECK: gpu.func @three_kernel({{.*}}) kernel attributes {{{.*}}nvvm.minctasm = 3 : i32
// CHECK-NOT: sparsek.other
// CHECK: gpu.module @three_kernel_1
// CHECK-NOT: minctasm
// PTX: .minnctapersm 3
// PTX-NOT: .minnctapersm
func.func @three(%m: memref<4xf32>, %c: i1) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c4, %b = %c1, %d = %c1) {
    %v = arith.constant 1.0 : f32
    memref.store %v, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  scf.if %c {
    gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
               threads(%tx, %ty, %tz) in (%a = %c4, %b = %c1, %d = %c1) {
      %v = arith.constant 2.0 : f32
      memref.store %v, %m[%tx] : memref<4xf32>
      gpu.terminator
    } {nvvm.minctasm = 3 : i32, sparsek.other = 1 : i32}
  }
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c4, %b = %c1, %d = %c1) {
    %v = arith.constant 3.0 : f32
    memref.store %v, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}
