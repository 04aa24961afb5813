// sparsek-gpu-grid-dependency: every kernel starts by waiting for its stream
// predecessor (and, in mode trigger, lets its dependents be scheduled);
// each GPU module with a kernel gets the marker global the runtime library
// looks for; device functions that are not kernels are left alone. A
// kernel whose builder placed its own wait (after work that reads nothing
// its predecessor writes) gets no wait at its start; mode off removes the
// builders' griddepcontrol operations and adds no marker (chips before
// sm_90).
// RUN: sparsek-opt %s --sparsek-gpu-grid-dependency="mode=trigger" | FileCheck %s
// RUN: sparsek-opt %s --sparsek-gpu-grid-dependency | FileCheck %s --check-prefix=WAIT
// RUN: sparsek-opt %s --sparsek-gpu-grid-dependency="mode=off" | FileCheck %s --check-prefix=OFF --implicit-check-not=griddepcontrol --implicit-check-not=__sparsek_grid_dependency_wait
// The marker and the instructions in the generated PTX.
// RUN: sparsek-opt %s --sparsek-gpu-grid-dependency="mode=trigger" --nvvm-attach-target="chip=sm_90 features=+ptx81" --convert-gpu-to-nvvm --gpu-module-to-binary="format=isa" | FileCheck %s --check-prefix=PTX
// Any other mode is refused:
// RUN: not sparsek-opt %s --sparsek-gpu-grid-dependency="mode=early" 2>&1 | FileCheck %s --check-prefix=BAD
// (test/Integration/GPU/nvvm-pipeline.mlir: the pipeline runs the pass on
// sm_90 and newer only.) An invalid pipeline option is refused:
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="grid-dependency=early" 2>&1 | FileCheck %s --check-prefix=BADPIPE

// CHECK-LABEL: gpu.module @kernels
// CHECK: memref.global "public" constant @__sparsek_grid_dependency_wait : memref<1xi32, #gpu.address_space<global>> = dense<1>
// CHECK-LABEL: gpu.func @helper
// CHECK-NOT: griddepcontrol
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @scale
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: gpu.thread_id
// CHECK-LABEL: gpu.func @own
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: gpu.thread_id
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: memref.load
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-LABEL: gpu.module @empty
// CHECK-NOT: __sparsek_grid_dependency_wait
// WAIT-LABEL: gpu.func @scale
// WAIT-NEXT: nvvm.griddepcontrol wait
// WAIT-NOT: launch_dependents
// WAIT-LABEL: gpu.func @own
// WAIT-NEXT: gpu.thread_id
// WAIT-NEXT: nvvm.griddepcontrol launch_dependents
// WAIT-NEXT: memref.load
// WAIT-NEXT: nvvm.griddepcontrol wait
// WAIT-NEXT: memref.store
// OFF-LABEL: gpu.func @scale
// OFF-NEXT: gpu.thread_id
// OFF-LABEL: gpu.func @own
// OFF-NEXT: gpu.thread_id
// OFF-NEXT: memref.load
// OFF-NEXT: memref.store
// PTX: .visible .global .align 4 .b8 __sparsek_grid_dependency_wait[4] = {1};
// PTX: .entry scale
// PTX-NOT: ld.global
// PTX: griddepcontrol.wait;
// PTX: griddepcontrol.launch_dependents;
// BAD: mode must be 'wait', 'trigger' or 'off', not 'early'
// BADPIPE: invalid grid-dependency 'early': expected off, wait or trigger
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @helper(%x: f32) -> f32 {
      gpu.return %x : f32
    }
    gpu.func @scale(%m: memref<64xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %m[%t] : memref<64xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %m[%t] : memref<64xf32>
      gpu.return
    }
    gpu.func @own(%m: memref<64xf32>, %n: memref<64xf32>) kernel {
      %t = gpu.thread_id x
      nvvm.griddepcontrol launch_dependents
      %v = memref.load %n[%t] : memref<64xf32>
      nvvm.griddepcontrol wait
      memref.store %v, %m[%t] : memref<64xf32>
      gpu.return
    }
  }
  gpu.module @empty {
  }
  func.func @run(%m: memref<64xf32>) {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@scale blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%m : memref<64xf32>)
    return
  }
}
