// GPU smoke test of the route sparsek's GPU path takes: a kernel lowered
// here to a sm_90 cubin, host code that calls the mgpu* ABI implemented by
// libsparsek_cuda_runtime, run on the device by scripts/device-check.sh.
// y[i] = 2 * x[i] + i over 8 blocks of 128 threads.
//
// Here (CI, no GPU): each stage of the lowering, and ptxas accepting the
// PTX for sm_90 and sm_80 (format=bin runs ptxas).
// REQUIRES: ptxas
// RUN: sparsek-opt %s --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90 cubin-features=+ptx80 cubin-format=isa" | FileCheck %s --check-prefix=PTX
// PTX: gpu.binary @smoke_kernel
// PTX-SAME: #nvvm.target<chip = "sm_90", features = "+ptx80">
// PTX-SAME: .target sm_90
// PTX-SAME: ld.global.{{[bf]}}32
// PTX-SAME: st.global.{{[bf]}}32
// RUN: sparsek-opt %s --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90 cubin-features=+ptx80 cubin-format=bin" | FileCheck %s --check-prefix=BIN
// RUN: sparsek-opt %s --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_80 cubin-features=+ptx80 cubin-format=bin" | FileCheck %s --check-prefix=BIN
// BIN: gpu.binary @smoke_kernel {{.*}}bin = "\7FELF
// Host code: module load, launch and memory through the mgpu* ABI that
// libsparsek_cuda_runtime implements.
// RUN: sparsek-opt %s --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90 cubin-features=+ptx80 cubin-format=bin" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=HOST
// HOST-DAG: call ptr @mgpuModuleLoad(
// HOST-DAG: call void @mgpuLaunchKernel(
// HOST-DAG: call ptr @mgpuMemAlloc(
// HOST-DAG: call void @mgpuMemcpy(
// HOST-DAG: call void @mgpuMemFree(
func.func @smoke(%x: memref<1024xf32>, %y: memref<1024xf32>) attributes {llvm.emit_c_interface} {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c128 = arith.constant 128 : index
  %t0 = gpu.wait async
  %dx, %t1 = gpu.alloc async [%t0] () : memref<1024xf32>
  %dy, %t2 = gpu.alloc async [%t1] () : memref<1024xf32>
  %t3 = gpu.memcpy async [%t2] %dx, %x : memref<1024xf32>, memref<1024xf32>
  gpu.wait [%t3]
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %base = arith.muli %bx, %c128 : index
    %i = arith.addi %base, %tx : index
    %v = memref.load %dx[%i] : memref<1024xf32>
    %two = arith.constant 2.0 : f32
    %d = arith.mulf %v, %two : f32
    %ii = arith.index_cast %i : index to i32
    %fi = arith.sitofp %ii : i32 to f32
    %r = arith.addf %d, %fi : f32
    memref.store %r, %dy[%i] : memref<1024xf32>
    gpu.terminator
  }
  %t4 = gpu.wait async
  %t5 = gpu.memcpy async [%t4] %y, %dy : memref<1024xf32>, memref<1024xf32>
  %t6 = gpu.dealloc async [%t5] %dx : memref<1024xf32>
  %t7 = gpu.dealloc async [%t6] %dy : memref<1024xf32>
  gpu.wait [%t7]
  return
}
