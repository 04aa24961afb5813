//===- Tuning.h - the kernels' tuning table ---------------------*- C++ -*-===//
//
// The tile and schedule parameters of the generated kernels, per
// configuration, from a table kept in the repository
// (TuningTable.txt, compiled into the pass) and optionally a user's file
// of the same format (convert-sparsek-to-gpu{tuning-file}). bench/tune.py
// measures candidates on the device and writes the table.
//
// A line: `kind chip elem d dv k window group | name=value ...`, `*` for
// any value of a key, `#` to the end of a line a comment. Kinds and their
// parameters:
//   attention  block-size (rows per thread block: queries x heads),
//              key-tile (keys per shared-memory tile), ping-pong,
//              wgmma (sm_90a), backward-key-tile
//   decode     phase1-tiles, pre-issue, fused-lengths, min-blocks
//              (DecodeKernel.cpp), target-blocks (the attention's blocks
//              a step aims at: rows x splits; one split per row from that
//              many rows on, the fused kernel)
// An op's configuration matches a line when every key of the line is `*`
// or equal to the op's (a key the op leaves dynamic matches `*` only);
// of the matching lines the most specific (most keys given) wins, the
// first on ties; lines of the user's file before the built-in table's. A
// chip's line also serves its architecture-specific variant (sm_90 lines
// sm_90a), below a line for the variant itself on a tie.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_LIB_CONVERSION_SPARSEKTOGPU_TUNING_H
#define SPARSEK_LIB_CONVERSION_SPARSEKTOGPU_TUNING_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace mlir::sparsek::tuning {

/// A configuration's keys (-1, or an empty string: unknown at compile
/// time, e.g. a dynamic head dim).
struct Key {
  std::string kind, chip, elem;
  int64_t d = -1, dv = -1, k = -1, window = -1, group = -1;
  void print(llvm::raw_ostream &os) const;
};

/// One line of a table.
struct Entry {
  Key key; // -1 / "*" fields are wildcards here
  std::map<std::string, int64_t> params;
  std::string origin; // "<table>:<line>"
  int specificity() const;
  bool matches(const Key &k) const;
};

class Table {
public:
  /// Parses `text` (named `name` in diagnostics); on a malformed line sets
  /// `error` to "<name>:<line>: <rule>" and returns nullopt.
  static std::optional<Table> parse(llvm::StringRef text, llvm::StringRef name,
                                    std::string &error);
  /// The built-in table (TuningTable.txt), parsed once; a malformed one is
  /// a build error caught by the tests (the message is returned in
  /// `error` then and the table is empty).
  static const Table &builtin(std::string *error = nullptr);

  /// The most specific line matching `key`, or null.
  const Entry *lookup(const Key &key) const;
  const llvm::SmallVector<Entry> &entries() const { return lines; }

private:
  llvm::SmallVector<Entry> lines;
};

/// `params` as `name=value` words.
std::string formatParams(const std::map<std::string, int64_t> &params);

/// A parameter of a kind and its allowed values: multiples of `multiple`
/// in [lo, hi] (the table's check; the pass checks its options by it).
struct Param {
  const char *kind, *name;
  int64_t lo, hi, multiple;
};
/// `name` of `kind`, or null when the kind has no such parameter.
const Param *findParam(llvm::StringRef kind, llvm::StringRef name);

} // namespace mlir::sparsek::tuning

#endif // SPARSEK_LIB_CONVERSION_SPARSEKTOGPU_TUNING_H
