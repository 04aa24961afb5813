//===- ParserLimits.h - inputs MLIR's parser must not see -------*- C++ -*-===//
//
// A few inputs make MLIR's own text parser (upstream, not sparsek) exhaust
// memory instead of reporting an error. The one known today: a result-number
// suffix such as `%v#2147483648`. The parser keeps one slot per result number
// of every value name it has seen and grows that list to the number written
// in the use, before it can find out that no operation has that many results,
// so `%v#2147483648` asks for tens of gigabytes and the process dies.
//
// Every sparsek entry point that parses text from a user (sparsek-opt,
// sparsek-compile, the fuzz target) runs checkParserLimits first. The rule:
// a result number must be smaller than the input's size in bytes, because an
// operation written in S bytes cannot have S results (each result needs at
// least one character: its type, or its name in a group `%v:K`). The bound is
// generous for real IR and keeps the parser's table linear in the input.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_SUPPORT_PARSERLIMITS_H
#define SPARSEK_SUPPORT_PARSERLIMITS_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"

#include <cstddef>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir {
namespace sparsek {

/// Scans `text` (skipping comments and string literals) for result-number
/// suffixes `%name#N` with N >= text.size(). Calls `report(offset, message)`
/// for the first one (offset of its `%`) and returns false; true when the text
/// is safe to hand to the parser.
bool checkParserLimits(
    llvm::StringRef text,
    llvm::function_ref<void(size_t offset, const llvm::Twine &message)>
        report);

/// The same over the main buffer of `sourceMgr`, reporting an error at the
/// offending location through the SourceMgr (file:line:col: error: ...).
bool checkParserLimits(llvm::SourceMgr &sourceMgr);

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_SUPPORT_PARSERLIMITS_H
