//===- Cases.h - sparsek-check cases, inputs, references --------*- C++ -*-===//
//
// What a check is, independent of how the kernel runs: the cases and the
// built-in grids, their inputs (drawn from a fixed seed and stored in the
// element type under test), the kernel text around the op, the reference
// outputs, and the comparison. Used by sparsek-check (JIT on the CPU) and
// by the GPU grid driver (ahead-of-time kernels on the device). No MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_TOOLS_SPARSEK_CHECK_CASES_H
#define SPARSEK_TOOLS_SPARSEK_CHECK_CASES_H

#include "sparsek-c/MemRef.h"
#include "sparsek/Reference/Reference.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sparsek::check {

namespace ref = ::sparsek::ref;

enum class Dtype { F32, F16, BF16 };

/// How scores (u, or z for mask) are drawn:
/// - Uniform: uniform in [-2, 2];
/// - Ties: half-integers 0..2.5, many ties;
/// - NegInf: uniform with about a third -inf;
/// - Huge: a mix of +-1e30, +-3e38 (near the f32 limit) and small values;
/// - Equal: every score the same;
/// - AllNegInf: every score -inf.
enum class Scores { Uniform, Ties, NegInf, Huge, Equal, AllNegInf, Slope };

struct Case {
  std::string op = "attention";
  int64_t b = 1, hq = 2, hkv = 2, n = 16, m = 16, d = 16, dv = 16, c = 32;
  int64_t k = 4, w = 4;
  int64_t bq = 4; // block_select's queries per block
  /// decode: m prompt tokens (prefill), then n steps; band capacity cb
  /// (-1: m + n, never overflows); ragged: sequence b's prompt has
  /// max(0, m - 3 b) tokens (the rest of its prompt rows is padding).
  int64_t cb = -1;
  bool ragged = false;
  ref::Gate gate = ref::Gate::KV;
  bool causal = true;
  Scores scores = Scores::Uniform;
  /// q and key entries are uniform in [-qkAmp, qkAmp] (huge logits: 1e3 in
  /// f16/bf16, 1e18 in f32).
  double qkAmp = 1.0;
  Dtype dtype = Dtype::F32;
  unsigned seed = 1;
  /// attention: also the log-sum-exp result; attention_backward: given the
  /// (reference) forward's log-sum-exp as its `lse` operand. Causal only.
  bool lse = false;
  /// attention_backward: the `deterministic` attribute (the GPU grid also
  /// runs such a case twice more and asks for the same bits).
  bool deterministic = false;
  /// attention, attention_backward (causal): written in block form, with
  /// query blocks of bq: sparsek.block_select + sparsek.block_attention
  /// (with lse when `lse`), or block_select + block_attention_backward
  /// (needs `lse`), the forms of training's pair that hand the forward's
  /// selection to the backward.
  bool blocks = false;
};

const char *dtypeName(Dtype t);
const char *gateName(ref::Gate g);
const char *scoresName(Scores s);
std::string describe(const Case &c);

/// The ops a case may name.
bool isKnownOp(const std::string &op);
/// Whether the GPU pipeline compiles `c` (decode steps need the decode
/// kernels: f16/bf16, D = Dv of 64 or 128); the GPU grid skips the others.
bool runsOnGPU(const Case &c);
/// Empty when `c` is a case the op's verifier accepts and small enough to
/// run here; otherwise why not.
std::string checkCase(const Case &c);

/// |got - ref| <= atol + rtol |ref|.
struct Tolerance {
  double atol, rtol;
};
Tolerance tolerance(Dtype t);

/// A dense host buffer in one element type.
struct Buffer {
  std::string elem; // MLIR element type
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  size_t width = 4;

  size_t count() const;
  std::string type(const char *kind) const;
};

/// Poison: NaN for floats, INT32_MAX for integers.
void poison(Buffer &b);
std::vector<double> readAll(const Buffer &b);

/// Dense row-major descriptor of `b`'s shape over `data`
/// (include/sparsek-c/MemRef.h).
SparseKMemRefAnyRank describe(const Buffer &b, void *data);

/// The kernel around one op: tensor inputs, memref outputs (destination
/// passing), and the body computing %r0, %r1, ... from the inputs.
struct Kernel {
  std::vector<std::pair<std::string, Buffer *>> inputs;
  std::vector<Buffer *> outputs;
  std::string body;
};
/// `func.func @NAME(...) attributes {llvm.emit_c_interface}` for `k`.
std::string moduleText(const Kernel &k, const std::string &name);

/// A case ready to run: buffers (inputs filled, outputs not yet poisoned),
/// the kernel, and the expected outputs with their tolerances.
struct Prepared {
  std::vector<std::unique_ptr<Buffer>> buffers;
  Kernel kernel;
  std::vector<double> want, want2;
  Tolerance outTol{0, 0}, outTol2{0, 0};
  /// Outputs 3, 4, ... (block_select, attention_backward).
  std::vector<std::vector<double>> wantMore;
  std::vector<Tolerance> tolMore;
  /// Appended to verify()'s detail (decode: how many rows overflowed
  /// their band).
  std::string note;
};
Prepared prepare(const Case &c);

/// Compares the outputs (read back into the kernel's output buffers) with
/// the expected ones; `detail` gets the error and tolerance.
bool verify(Prepared &p, std::string &detail);

/// The built-in grids: attention, gathered, noncausal, selection, mask,
/// score, edge (numerical and shape edge cases), all. Empty for an unknown
/// name.
std::vector<Case> grid(const std::string &name);
/// Each case's index in grid "all" (the name of its kernel in a module
/// that `--emit-module` writes, @case_<index>), found by its description;
/// an empty result names the first case not in "all" in `missing`.
std::vector<size_t> indicesInAll(const std::vector<Case> &cases,
                                  std::string &missing);

} // namespace sparsek::check

#endif // SPARSEK_TOOLS_SPARSEK_CHECK_CASES_H
