//===- FuzzTarget.cpp - one fuzz input through sparsek ----------*- C++ -*-===//

#include "FuzzTarget.h"

#include "sparsek/InitAll.h"
#include "sparsek/Pipelines/Pipelines.h"
#include "sparsek/Support/ParserLimits.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <cstdio>
#include <cstdlib>
#include <random>
#include <cctype>
#include <vector>

using namespace mlir;

namespace sparsek::fuzz {

namespace {

DialectRegistry &registry() {
  static DialectRegistry *r = [] {
    auto *reg = new DialectRegistry();
    mlir::sparsek::registerAllSparseKDialects(*reg);
    return reg;
  }();
  return *r;
}

/// The pass pipelines an input goes through, each on its own copy, with
/// how often the fuzzer picks each (out of 16; the GPU pipeline, which
/// generates PTX, costs the most). The GPU pipeline runs LLVM at O0: every
/// pass of ours and NVPTX's instruction selection of every kernel still
/// run, but not LLVM's optimizer, which took three quarters of the time
/// (a 7-layer module has 125 kernels: 2.0 s at O2, 0.5 s at O0, release).
struct Pipeline {
  const char *text;
  unsigned weight;
};
const Pipeline kPipelines[] = {
    {"sparsek-decompose", 2},
    {"canonicalize", 2},
    {"sparsek-decompose,canonicalize,cse", 2},
    {"convert-sparsek-to-linalg", 3},
    {"sparsek-checked-entry-points", 1},
    {"sparsek-cpu-pipeline", 2},
    {"sparsek-cpu-pipeline{emit-c-interface=1 parallel=1}", 2},
    {"sparsek-nvvm-pipeline{format=isa emit-c-interface=1 opt-level=0}", 2},
};

/// Runs `pipeline` on a clone of `module`; aborts if it succeeds after an
/// error diagnostic (an error printed with exit status 0 in a tool).
void runPipeline(ModuleOp module, const char *pipeline, bool &sawError) {
  OwningOpRef<ModuleOp> copy = module.clone();
  PassManager pm(module.getContext());
  if (failed(parsePassPipeline(pipeline, pm))) {
    std::fprintf(stderr, "sparsek-fuzz: bad pipeline %s\n", pipeline);
    std::abort();
  }
  sawError = false;
  LogicalResult result = pm.run(*copy);
  if (succeeded(result) && sawError) {
    std::fprintf(stderr,
                 "sparsek-fuzz: '%s' reported an error but succeeded\n",
                 pipeline);
    std::abort();
  }
}

} // namespace

void initialize() {
  static bool done = [] {
    mlir::sparsek::configureCUDAToolkitPath();
    mlir::sparsek::registerAllSparseKPasses();
    (void)registry();
    return true;
  }();
  (void)done;
}

int runOne(const uint8_t *data, size_t size, bool all) {
  initialize();
  MLIRContext ctx(registry(), MLIRContext::Threading::DISABLED);
  bool sawError = false;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error)
      sawError = true;
    return success(); // keep the output quiet
  });
  std::string text(reinterpret_cast<const char *>(data), size);
  // Inputs that would make MLIR's own parser exhaust memory are rejected
  // first, as every sparsek tool does (Support/ParserLimits.h).
  if (!mlir::sparsek::checkParserLimits(text, [](size_t, const Twine &) {}))
    return 0;
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  if (!module)
    return 0;
  if (failed(verify(*module)))
    return 1;
  if (all) {
    for (const Pipeline &p : kPipelines)
      runPipeline(*module, p.text, sawError);
    return 2;
  }
  // FNV-1a of the input picks one pipeline, weighted.
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i)
    h = (h ^ data[i]) * 1099511628211ull;
  unsigned slot = h % 16;
  for (const Pipeline &p : kPipelines) {
    if (slot < p.weight) {
      runPipeline(*module, p.text, sawError);
      break;
    }
    slot -= p.weight;
  }
  return 2;
}

namespace {

/// Replacement candidates for each kind of token.
const char *const kNumbers[] = {"0", "1", "2", "3", "7", "16", "64", "128",
                                "-1", "-2", "1024", "4096", "2147483647",
                                "2147483648", "-9223372036854775808",
                                "9223372036854775807", "65536", "33"};
const char *const kElemTypes[] = {"f32", "f16", "bf16", "f64", "i32", "i1",
                                  "index", "f8E4M3FN"};
const char *const kGates[] = {"kv", "v", "logit", "none", "bogus"};
const char *const kOps[] = {"score", "mask", "threshold", "topk",
                            "gathered_attention", "attention"};
const char *const kFloats[] = {"0.0", "-1.0", "1.0e+300", "0x7FC00000",
                               "0xFF800000", "1.0e-40", "3.0e+38"};

} // namespace

namespace {

enum class TokenKind { Number, ElemType, Gate, OpName, Bool, Float };

struct Token {
  TokenKind kind;
  size_t begin, length;
};

bool isIdent(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

template <size_t N> bool oneOf(const std::string &w, const char *const (&t)[N]) {
  for (const char *x : t)
    if (w == x)
      return true;
  return false;
}

/// The tokens worth mutating, by a hand-written scan (no std::regex: its
/// recursive matcher overflows the stack on long inputs).
std::vector<Token> scan(const std::string &s) {
  std::vector<Token> out;
  const char *const elem[] = {"f32", "f16", "bf16", "f64", "i32", "i1",
                              "index"};
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) ||
                              s[j] == '.' || s[j] == 'e' ||
                              ((s[j] == '+' || s[j] == '-') && s[j - 1] == 'e')))
        ++j;
      bool afterLetter = i > 0 && isIdent(s[i - 1]) && s[i - 1] != 'x';
      if (!afterLetter) {
        bool isFloat = s.find('.', i) < j;
        size_t b = (i > 0 && s[i - 1] == '-') ? i - 1 : i;
        out.push_back({isFloat ? TokenKind::Float : TokenKind::Number, b,
                       j - b});
      }
      i = j;
      continue;
    }
    if (isIdent(c)) {
      size_t j = i;
      while (j < s.size() && isIdent(s[j]))
        ++j;
      std::string w = s.substr(i, j - i);
      size_t b = i;
      // Shapes run into element types: 4x64xbf16.
      if (w.size() > 1 && w[0] == 'x' && oneOf(w.substr(1), elem)) {
        w = w.substr(1);
        ++b;
      }
      if (oneOf(w, elem))
        out.push_back({TokenKind::ElemType, b, w.size()});
      else if (b >= 5 && s.compare(b - 5, 5, "gate<") == 0)
        out.push_back({TokenKind::Gate, b, w.size()});
      else if (b >= 8 && s.compare(b - 8, 8, "sparsek.") == 0)
        out.push_back({TokenKind::OpName, b, w.size()});
      else if (w == "true" || w == "false")
        out.push_back({TokenKind::Bool, b, w.size()});
      i = j;
      continue;
    }
    ++i;
  }
  return out;
}

} // namespace

size_t mutate(uint8_t *data, size_t size, size_t maxSize, unsigned seed) {
  std::string text(reinterpret_cast<const char *>(data), size);
  std::mt19937 rng(seed);
  auto pick = [&](const auto &table) {
    return std::string(table[rng() % std::size(table)]);
  };
  std::string out = text;
  // One to three replacements, each on a fresh scan.
  int edits = 1 + rng() % 3;
  for (int e = 0; e < edits; ++e) {
    std::vector<Token> tokens = scan(out);
    if (tokens.empty())
      break;
    const Token &t = tokens[rng() % tokens.size()];
    std::string repl;
    switch (t.kind) {
    case TokenKind::Number:
      repl = pick(kNumbers);
      break;
    case TokenKind::ElemType:
      repl = pick(kElemTypes);
      break;
    case TokenKind::Gate:
      repl = pick(kGates);
      break;
    case TokenKind::OpName:
      repl = pick(kOps);
      break;
    case TokenKind::Bool:
      repl = rng() % 2 ? "true" : "false";
      break;
    case TokenKind::Float:
      repl = pick(kFloats);
      break;
    }
    out.replace(t.begin, t.length, repl);
  }
  if (out.size() > maxSize || out == text)
    return 0;
  std::copy(out.begin(), out.end(), data);
  return out.size();
}

} // namespace sparsek::fuzz
