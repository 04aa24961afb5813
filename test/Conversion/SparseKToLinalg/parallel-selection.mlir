// convert-sparsek-to-linalg{parallel-selection} (the GPU pipeline's
// selection, ParallelSelection.cpp): every loop over the M = 777 keys or the
// N = 333 queries of a row (sizes that occur nowhere else) is an scf.forall;
// what a thread loops over is levels (L = 10 bits of a position here:
// binary searches of at most L + 1 halvings; arity-4 trees of L4 = 5
// levels, walked level by level, built in pairs of merge rounds: 6). No thread sweeps a row and
// no step scans across it: no scf.for runs to 333 or 777 (the sequential
// lowering's sweep does; the second RUN line shows the check catches it).
// RUN: sparsek-opt %s --convert-sparsek-to-linalg="parallel-selection" --canonicalize \
// RUN:   | FileCheck %s --implicit-check-not="scf.for {{.*}} to %c333 " --implicit-check-not="scf.for {{.*}} to %c777 "
// RUN: sparsek-opt %s --convert-sparsek-to-linalg --canonicalize | FileCheck %s --check-prefix=SWEEP

// CHECK-LABEL: func.func @threshold
// Ranks: keys numbered, then L4 / 2 = 3 pairs of merge rounds over the keys
// (the merge-sort tree W2, whose top level is the sorted row), the scores
// in rank order.
// CHECK: scf.forall ({{.*}}) in (777, 2)
// CHECK: scf.for {{.*}} to %c3
// CHECK: scf.forall ({{.*}}) in (777, 2)
// CHECK: scf.forall ({{.*}}) in (777, 2)
// CHECK: scf.forall ({{.*}}) in (777, 2)
// W1 (ranks in key order, with fractional sums): the leaves' fractional
// parts, then 3 pairs of merge rounds; then per rank what f needs at its
// two breakpoints, and per row its finite ranks; nothing else along the
// row.
// CHECK: scf.forall ({{.*}}) in (777, 2)
// CHECK: scf.for {{.*}} to %c3
// CHECK: scf.forall ({{.*}}) in (777, 2)
// CHECK: scf.forall ({{.*}}) in (777, 2)
// CHECK: scf.forall ({{.*}}) in (777, 2)
// CHECK-NOT: scf.forall ({{.*}}) in (777, 2)
// CHECK: scf.forall ({{.*}}) in (2)
// Every 32nd query and the last (ceil(332 / 32) + 1 = 12 samples) search
// the band around their k-th best for the threshold's breakpoints: their
// ranges, then rounds of 16 probes per sample (one thread each: 12 * 16 =
// 192), each probe narrowing the ranges by the last round's flags first;
// rounds until a range holds at most ~16 ranks: 17 <= 777 / 16 < 17^2, so
// two, run in pairs (two sets of state, one read and one written: one
// pair, its loop folded away), then one narrowing of the last round's
// ranges. Then one thread per query searches between its two samples'
// ranges.
// CHECK: scf.forall ({{.*}}) in (12, 2)
// CHECK-NOT: scf.for {{.*}} to %c2 
// CHECK: scf.forall ({{.*}}) in (192, 2)
// CHECK: scf.forall ({{.*}}) in (192, 2)
// CHECK-NOT: scf.forall (
// CHECK: scf.forall ({{.*}}) in (12, 2)
// CHECK: scf.forall ({{.*}}) in (333, 2)
// SWEEP-LABEL: func.func @threshold
// SWEEP: scf.forall ({{.*}}) in (2)
// SWEEP: scf.for {{.*}} to %c333
func.func @threshold(%u: tensor<1x2x777xf32>) -> tensor<1x2x333xf32> {
  %t = "sparsek.threshold"(%u) {k = 8 : i64, window = 16 : i64} : (tensor<1x2x777xf32>) -> tensor<1x2x333xf32>
  return %t : tensor<1x2x333xf32>
}

// topk, by blocks of 32 queries (11 blocks): the first query's list, one
// thread per (block, entry) (11 * 8 = 88); each arrival's place in each
// query's list, one thread per (query, arrival slot) (333 * 32 = 10656);
// the lists, one thread per (query, entry) (333 * 8 = 2664).
// CHECK-LABEL: func.func @topk
// CHECK: scf.forall ({{.*}}) in (88, 2)
// CHECK: scf.forall ({{.*}}) in (10656, 2)
// CHECK: scf.forall ({{.*}}) in (2664, 2)
func.func @topk(%u: tensor<1x2x777xf32>) -> tensor<1x2x333x8xi32> {
  %i = "sparsek.topk"(%u) {k = 8 : i64, window = 16 : i64} : (tensor<1x2x777xf32>) -> tensor<1x2x333x8xi32>
  return %i : tensor<1x2x333x8xi32>
}

// block_select (blocks of 16 queries: 21 blocks, unions of 8 + 15 = 23):
// per query its kth candidate and threshold, per union entry one thread
// (21 * 23 = 483), per block its count.
// CHECK-LABEL: func.func @block_select
// CHECK-DAG: scf.forall ({{.*}}) in (333, 2)
// CHECK-DAG: scf.forall ({{.*}}) in (483, 2)
// CHECK-DAG: scf.forall ({{.*}}) in (21, 2)
func.func @block_select(%u: tensor<1x2x777xf32>)
    -> (tensor<1x2x333xf32>, tensor<1x2x333xi32>, tensor<1x2x333xf32>, tensor<1x2x21x23xi32>, tensor<1x2x21xi32>) {
  %s, %i, %t, %un, %c = "sparsek.block_select"(%u) {k = 8 : i64, window = 16 : i64, block_size = 16 : i64}
      : (tensor<1x2x777xf32>) -> (tensor<1x2x333xf32>, tensor<1x2x333xi32>, tensor<1x2x333xf32>, tensor<1x2x21x23xi32>, tensor<1x2x21xi32>)
  return %s, %i, %t, %un, %c : tensor<1x2x333xf32>, tensor<1x2x333xi32>, tensor<1x2x333xf32>, tensor<1x2x21x23xi32>, tensor<1x2x21xi32>
}
