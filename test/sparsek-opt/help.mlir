// sparsek-opt lists the sparsek passes with their summaries.
// RUN: sparsek-opt --help | FileCheck %s
// CHECK: --sparsek-decompose
// CHECK-SAME: Split sparsek.attention into threshold, topk and gathered_attention
