// A result-number suffix at or above the input's size is rejected before
// MLIR's parser sees it (Support/ParserLimits.h): upstream's parser would
// reserve a slot per result number up to it, about 50 GB for `#2147483648`,
// and die. Found by the fuzzer (a seed's `%g#2` mutated to `%g#2147483648`).
// RUN: not sparsek-opt --allow-unregistered-dialect %s 2>&1 | FileCheck %s --implicit-check-not="Stack dump" --implicit-check-not="out of memory"
// RUN: not sparsek-opt --allow-unregistered-dialect %s --split-input-file 2>&1 | FileCheck %s --implicit-check-not="Stack dump"
// RUN: not sparsek-compile %s -o %t.o 2>&1 | FileCheck %s --implicit-check-not="Stack dump"
// RUN: sparsek-fuzz-replay %s | FileCheck %s --check-prefix=FUZZ
// The same names in comments and strings, and small result numbers, are fine:
// RUN: sparsek-opt --allow-unregistered-dialect %S/Inputs/result-numbers-ok.mlir | FileCheck %s --check-prefix=OK

// CHECK: result-number-limit.mlir:[[@LINE+4]]:10: error: result number 2147483648 in '%a#2147483648' is not below the input's size ({{[0-9]+}} bytes)
// CHECK-SAME: Rejected before MLIR's parser
// FUZZ: result-number-limit.mlir: no parse
%a:2 = "test.x"() : () -> (tensor<2xf32>, tensor<2xf32>)
"test.y"(%a#2147483648) : (tensor<2xf32>) -> ()

// OK: "test.y"(%{{.*}}#1) {note = "%a#99999999999999999999"}
