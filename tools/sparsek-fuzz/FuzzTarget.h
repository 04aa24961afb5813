//===- FuzzTarget.h - one fuzz input through sparsek ------------*- C++ -*-===//
//
// What the fuzzer does with one input, shared by the libFuzzer binary
// (sparsek-fuzz, clang builds) and the replay tool that runs saved inputs
// in every build (sparsek-fuzz-replay, the regression tests).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_TOOLS_SPARSEK_FUZZ_FUZZTARGET_H
#define SPARSEK_TOOLS_SPARSEK_FUZZ_FUZZTARGET_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace sparsek::fuzz {

/// Registers dialects and passes once (idempotent).
void initialize();

/// Parses `data` as a module; if it verifies, runs sparsek passes and
/// pipelines on copies of it (the GPU pipeline up to PTX, so ptxas is not in
/// the loop): every one with `all`, else one chosen by a hash of the input
/// (the fuzzer: every pipeline runs, on different inputs, at a fraction of
/// the cost). Aborts (a finding) when a pass manager succeeds although an
/// error was reported; crashes are findings by themselves. Returns how far
/// the input got: 0 no parse, 1 parsed but invalid, 2 ran the passes.
int runOne(const uint8_t *data, size_t size, bool all);

/// Structure-aware mutation of a textual module: numbers (sizes, k,
/// window), element types, gates and op names are swapped for other valid
/// or boundary values, keeping most mutants parseable. Returns the new
/// size (at most maxSize), or 0 when nothing applied.
size_t mutate(uint8_t *data, size_t size, size_t maxSize, unsigned seed);

} // namespace sparsek::fuzz

#endif // SPARSEK_TOOLS_SPARSEK_FUZZ_FUZZTARGET_H
