//===- sparsek-check.cpp - run compiled sparsek ops against the reference -===//
//
// For one op and shape (or a built-in grid of them): draw random inputs
// (fixed seed), store them in the element type under test, build a kernel
// module around the op in generic form, compile it with
// sparsek-cpu-pipeline, JIT-run it, and compare every output element with
// the reference library (sparsek::ref, double precision) on the same
// (rounded) inputs. Outputs are caller-owned buffers filled with NaN (or
// 0x7fffffff) before the run, so unwritten elements fail too.
//
// Prints one line per case ("PASS ..."/"FAIL ...") and a closing
// "N passed, N failed"; exits non-zero on any failure.
//
//===----------------------------------------------------------------------===//

#include "Cases.h"
#include "sparsek/InitAll.h"
#include "sparsek/Pipelines/Pipelines.h"
#include "sparsek/Reference/Reference.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <random>
#include <sstream>

using namespace mlir;
using namespace ::sparsek::check;

namespace {

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

llvm::cl::opt<std::string> clGrid(
    "grid", llvm::cl::desc("Run a built-in grid: attention, noncausal, "
                           "gathered, selection, mask, score, edge, backward, tensorcore, decode, all"),
    llvm::cl::init(""));
llvm::cl::opt<std::string>
    clOp("op",
         llvm::cl::desc("Single case: score, mask, threshold, topk, "
                        "block_select, gathered_attention, attention, "
                        "attention_backward or decode (m prompt tokens, "
                        "then n steps)"),
         llvm::cl::init("attention"));
llvm::cl::opt<int64_t> clB("b", llvm::cl::init(1), llvm::cl::desc("batch"));
llvm::cl::opt<int64_t> clHq("hq", llvm::cl::init(2),
                            llvm::cl::desc("query heads"));
llvm::cl::opt<int64_t> clHkv("hkv", llvm::cl::init(2),
                             llvm::cl::desc("KV heads"));
llvm::cl::opt<int64_t> clN("n", llvm::cl::init(16),
                           llvm::cl::desc("query length"));
llvm::cl::opt<int64_t> clM("m", llvm::cl::init(16),
                           llvm::cl::desc("KV length"));
llvm::cl::opt<int64_t> clD("d", llvm::cl::init(16),
                           llvm::cl::desc("head dim"));
llvm::cl::opt<int64_t> clDv("dv", llvm::cl::init(16),
                            llvm::cl::desc("value head dim"));
llvm::cl::opt<int64_t> clC("c", llvm::cl::init(32),
                           llvm::cl::desc("score feature dim"));
llvm::cl::opt<int64_t> clK("k", llvm::cl::init(4),
                           llvm::cl::desc("selected keys"));
llvm::cl::opt<int64_t> clW("w", llvm::cl::init(4),
                           llvm::cl::desc("window"));
llvm::cl::opt<int64_t> clBq("bq", llvm::cl::init(4),
                            llvm::cl::desc("queries per block (block_select)"));
llvm::cl::opt<int64_t> clCb(
    "cb", llvm::cl::init(-1),
    llvm::cl::desc("decode: band capacity (-1: m + n, never overflows)"));
llvm::cl::opt<bool> clRagged(
    "ragged", llvm::cl::init(false),
    llvm::cl::desc("decode: sequence b's prompt has max(0, m - 3 b) tokens"));
llvm::cl::opt<std::string> clGate("gate", llvm::cl::init("kv"),
                                  llvm::cl::desc("kv, v, logit or none"));
llvm::cl::opt<bool> clCausal("causal", llvm::cl::init(true),
                             llvm::cl::desc("causal layer"));
llvm::cl::opt<bool> clLse(
    "lse", llvm::cl::init(false),
    llvm::cl::desc("attention: also return the log-sum-exp; "
                   "attention_backward: given the forward's (causal only)"));
llvm::cl::opt<bool> clDeterministic(
    "deterministic", llvm::cl::init(false),
    llvm::cl::desc("attention_backward: the deterministic attribute"));
llvm::cl::opt<bool> clBlocks(
    "blocks", llvm::cl::init(false),
    llvm::cl::desc("attention, attention_backward (with --lse): in block "
                   "form (block_select + block_attention or "
                   "block_attention_backward, query blocks of --bq)"));
llvm::cl::opt<std::string> clDtype("dtype", llvm::cl::init("f32"),
                                   llvm::cl::desc("f32, f16 or bf16"));
llvm::cl::opt<std::string> clScores(
    "scores", llvm::cl::init("uniform"),
    llvm::cl::desc("how scores are drawn: uniform, ties, neginf (a third "
                   "-inf), huge (+-1e30, +-3e38), equal, allneginf, slope (+0.05 j)"));
llvm::cl::opt<double> clQkAmp(
    "qk-amp", llvm::cl::init(1.0),
    llvm::cl::desc("q and key entries uniform in [-qk-amp, qk-amp]"));
llvm::cl::opt<unsigned> clSeed("seed", llvm::cl::init(1),
                               llvm::cl::desc("random seed"));
llvm::cl::opt<std::string> clEmitModule(
    "emit-module",
    llvm::cl::desc("Instead of running: write the grid's kernels as one "
                   "module (functions @case_<i>, i the case's index in grid "
                   "\"all\") to this file, "
                   "for ahead-of-time compilation (the GPU grid driver)"),
    llvm::cl::init(""));
llvm::cl::opt<bool> clParallelSelection(
    "parallel-selection", llvm::cl::init(false),
    llvm::cl::desc("compile with sparsek-cpu-pipeline{parallel-selection}: "
                   "the GPU's selection algorithm, run on the CPU"));
llvm::cl::opt<int64_t> clFusedBlockSize(
    "fused-block-size", llvm::cl::init(0),
    llvm::cl::desc("compile with sparsek-cpu-pipeline{fused-block-size}: "
                   "the causal layer as block selection + block attention "
                   "over blocks of this many queries, as on the GPU"));
llvm::cl::opt<bool> clPrintIR("print-ir", llvm::cl::init(false),
                              llvm::cl::desc("print each kernel module"));

//===----------------------------------------------------------------------===//
// Compile and run (JIT)
//===----------------------------------------------------------------------===//

bool compileAndRun(MLIRContext &ctx, const Kernel &k, std::string &error) {
  std::string text = moduleText(k, "kernel");
  if (clPrintIR)
    llvm::errs() << text;
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  if (!module) {
    error = "kernel module does not parse";
    return false;
  }
  PassManager pm(&ctx);
  mlir::sparsek::SparseKCPUPipelineOptions opts;
  opts.parallelSelection = clParallelSelection;
  opts.fusedBlockSize = clFusedBlockSize;
  mlir::sparsek::buildSparseKCPUPipeline(pm, opts);
  if (failed(pm.run(*module))) {
    error = "sparsek-cpu-pipeline failed";
    return false;
  }
  ExecutionEngineOptions eo;
  auto transformer = makeOptimizingTransformer(2, 0, nullptr);
  eo.transformer = transformer;
  auto engine = ExecutionEngine::create(*module, eo);
  if (!engine) {
    error = "JIT: " + llvm::toString(engine.takeError());
    return false;
  }
  std::vector<SparseKMemRefAnyRank> descs;
  std::vector<Buffer *> all;
  for (auto &in : k.inputs)
    all.push_back(in.second);
  for (Buffer *out : k.outputs)
    all.push_back(out);
  descs.reserve(all.size());
  for (Buffer *b : all)
    descs.push_back(describe(*b, b->bytes.data()));
  std::vector<SparseKMemRefAnyRank *> ptrs;
  for (SparseKMemRefAnyRank &d : descs)
    ptrs.push_back(&d);
  std::vector<void *> args;
  for (SparseKMemRefAnyRank *&p : ptrs)
    args.push_back(&p);
  if (llvm::Error e = (*engine)->invokePacked("_mlir_ciface_kernel", args)) {
    error = "invoke: " + llvm::toString(std::move(e));
    return false;
  }
  return true;
}


bool runCase(MLIRContext &ctx, const Case &c, std::string &detail) {
  Prepared p = prepare(c);
  for (Buffer *o : p.kernel.outputs)
    poison(*o);
  std::string error;
  if (!compileAndRun(ctx, p.kernel, error)) {
    detail = error;
    return false;
  }
  return verify(p, detail);
}

Case caseFromFlags() {
  Case c;
  c.op = clOp;
  c.b = clB;
  c.hq = clHq;
  c.hkv = clHkv;
  c.n = clN;
  c.m = clM;
  c.d = clD;
  c.dv = clDv;
  c.c = clC;
  c.k = clK;
  c.w = clW;
  c.bq = clBq;
  c.cb = clCb;
  c.ragged = clRagged;
  c.causal = clCausal;
  c.lse = clLse;
  c.deterministic = clDeterministic;
  c.blocks = clBlocks;
  c.qkAmp = clQkAmp;
  c.seed = clSeed;
  return c;
}

/// Fills the enumerated fields of `c` from their flags; false (with `why`)
/// on a value no case has.
bool parseEnums(Case &c, std::string &why) {
  static const std::pair<const char *, ref::Gate> gates[] = {
      {"kv", ref::Gate::KV},
      {"v", ref::Gate::V},
      {"logit", ref::Gate::Logit},
      {"none", ref::Gate::None}};
  static const std::pair<const char *, Dtype> dtypes[] = {
      {"f32", Dtype::F32}, {"f16", Dtype::F16}, {"bf16", Dtype::BF16}};
  static const std::pair<const char *, Scores> scores[] = {
      {"uniform", Scores::Uniform}, {"ties", Scores::Ties},
      {"neginf", Scores::NegInf},   {"huge", Scores::Huge},
      {"equal", Scores::Equal},     {"allneginf", Scores::AllNegInf},
      {"slope", Scores::Slope}};
  auto pick = [&](const char *flag, const std::string &v, auto &table,
                  auto &out) {
    std::string names;
    for (auto &[name, value] : table) {
      if (v == name) {
        out = value;
        return true;
      }
      names += std::string(names.empty() ? "" : ", ") + name;
    }
    why = std::string("unknown --") + flag + "=" + v + " (" + names + ")";
    return false;
  };
  return pick("gate", clGate, gates, c.gate) &&
         pick("dtype", clDtype, dtypes, c.dtype) &&
         pick("scores", clScores, scores, c.scores);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::ParseCommandLineOptions(
      argc, argv, "sparsek-check: compiled sparsek ops vs the reference\n");
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  mlir::sparsek::configureCUDAToolkitPath();
  DialectRegistry registry;
  mlir::sparsek::registerAllSparseKDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();

  std::vector<Case> cases;
  if (clGrid.empty()) {
    Case c = caseFromFlags();
    std::string why;
    if (!parseEnums(c, why) || !(why = checkCase(c)).empty()) {
      llvm::errs() << "sparsek-check: " << why << "\n";
      return 2;
    }
    cases.push_back(c);
  } else {
    cases = grid(clGrid);
    if (cases.empty()) {
      llvm::errs() << "sparsek-check: unknown grid '" << clGrid
                   << "' (attention, gathered, noncausal, selection, mask, "
                      "score, edge, backward, tensorcore, decode, all)\n";
      return 2;
    }
  }
  if (!clEmitModule.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(clEmitModule, ec);
    if (ec) {
      llvm::errs() << "sparsek-check: cannot write " << clEmitModule << "\n";
      return 2;
    }
    // Each kernel is named by its case's index in grid "all", so that
    // gpu-grid (which looks cases up there) runs a module of any grid.
    std::string missing;
    std::vector<size_t> index = indicesInAll(cases, missing);
    if (index.empty() && !cases.empty()) {
      llvm::errs() << "sparsek-check: case not in grid 'all': " << missing
                   << "\n";
      return 2;
    }
    size_t written = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
      if (!runsOnGPU(cases[i])) // CPU-only cases: no kernel for the GPU
        continue;
      ++written;
      Prepared p = prepare(cases[i]);
      os << "// " << describe(cases[i]) << "\n"
         << moduleText(p.kernel, "case_" + std::to_string(index[i])) << "\n";
    }
    llvm::outs() << "wrote " << written << " kernels to " << clEmitModule
                 << "\n";
    return 0;
  }
  int passed = 0, failed = 0;
  for (const Case &c : cases) {
    std::string detail;
    bool ok = runCase(ctx, c, detail);
    (ok ? passed : failed)++;
    llvm::outs() << (ok ? "PASS " : "FAIL ") << describe(c) << " " << detail
                 << "\n";
    llvm::outs().flush();
  }
  llvm::outs() << passed << " passed, " << failed << " failed\n";
  return failed ? 1 : 0;
}
