//===- sparsek-compile.cpp - ahead-of-time compiler for sparsek -----------===//
//
//   sparsek-compile FILE.mlir -o OUT [--emit=obj|shared|exe|llvm]
//
// Runs sparsek-cpu-pipeline (with C interfaces on every public function),
// translates to LLVM IR, optimises and emits a native object file with
// LLVM's code generator, in process. `shared` and `exe` then link that
// object with the system C compiler driver (cc). The result needs no LLVM or
// MLIR at run time. Calling convention: docs/CallingConvention.md.
//
// --target=cuda uses sparsek-nvvm-pipeline instead; its shared libraries and
// executables are linked against libsparsek_cuda_runtime.so (rpath $ORIGIN
// and its folder), which opens the CUDA driver itself on first use.
//
//===----------------------------------------------------------------------===//

#include "sparsek/InitAll.h"
#include "sparsek/Pipelines/Pipelines.h"
#include "sparsek/Support/ParserLimits.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;

namespace {

llvm::cl::opt<std::string> clInput(llvm::cl::Positional,
                                   llvm::cl::desc("<input .mlir>"),
                                   llvm::cl::init("-"));
llvm::cl::opt<std::string> clOutput("o", llvm::cl::desc("Output file"),
                                    llvm::cl::value_desc("filename"),
                                    llvm::cl::Required);
llvm::cl::opt<std::string>
    clEmit("emit",
           llvm::cl::desc("obj (object file), shared (shared library), exe "
                          "(executable; the module defines `main`), llvm "
                          "(LLVM IR text). Default: from the output's "
                          "extension (.o, .so, .ll), else exe"),
           llvm::cl::init(""));
llvm::cl::opt<std::string> clTarget(
    "target",
    llvm::cl::desc("cpu (sparsek-cpu-pipeline) or cuda (sparsek-nvvm-pipeline: "
                   "kernels embedded as cubin, entry points take device "
                   "memory, link with libsparsek_cuda_runtime)"),
    llvm::cl::init("cpu"));
llvm::cl::opt<std::string> clChip("chip",
                                  llvm::cl::desc("GPU for --target=cuda (sm_90a: Hopper with its architecture-specific wgmma; sm_90 for portable Hopper code)"),
                                  llvm::cl::init("sm_90a"));
llvm::cl::opt<std::string> clGPUOptions(
    "gpu-options", llvm::cl::init(""),
    llvm::cl::desc("More sparsek-nvvm-pipeline options for --target=cuda, as "
                   "in sparsek-opt's --sparsek-nvvm-pipeline=\"...\" (e.g. "
                   "\"key-tile=16 block-size=64\"); --chip wins over a "
                   "chip given here"));
llvm::cl::opt<unsigned> clOpt("O", llvm::cl::desc("LLVM optimisation level"),
                              llvm::cl::init(3), llvm::cl::Prefix);
llvm::cl::list<std::string>
    clLink("l", llvm::cl::desc("Extra library to link (shared/exe)"),
           llvm::cl::Prefix);
llvm::cl::opt<std::string> clCudaRuntimeDir(
    "cuda-runtime-dir",
    llvm::cl::desc("Where libsparsek_cuda_runtime.so is, for --target=cuda "
                   "shared libraries and executables (linked against it, "
                   "with an rpath of $ORIGIN and this folder). Default: the "
                   "lib/ folder beside this tool's bin/"),
    llvm::cl::init(""));

int fail(const llvm::Twine &msg) {
  llvm::errs() << "sparsek-compile: " << msg << "\n";
  return 1;
}

/// --cuda-runtime-dir, or <this tool's folder>/../lib.
std::string cudaRuntimeDir(const char *argv0) {
  if (!clCudaRuntimeDir.empty())
    return clCudaRuntimeDir;
  static int anchor;
  llvm::SmallString<256> exe(
      llvm::sys::fs::getMainExecutable(argv0, &anchor));
  llvm::sys::path::remove_filename(exe);
  llvm::sys::path::append(exe, "..", "lib");
  llvm::SmallString<256> real;
  if (!llvm::sys::fs::real_path(exe, real))
    return std::string(real);
  return std::string(exe);
}

std::string emitKind() {
  if (!clEmit.empty())
    return clEmit;
  llvm::StringRef out(clOutput);
  if (out.ends_with(".o"))
    return "obj";
  if (out.ends_with(".so"))
    return "shared";
  if (out.ends_with(".ll"))
    return "llvm";
  return "exe";
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::ParseCommandLineOptions(
      argc, argv, "sparsek-compile: ahead-of-time compiler for sparsek\n");
  std::string kind = emitKind();
  if (kind != "obj" && kind != "shared" && kind != "exe" && kind != "llvm")
    return fail("unknown --emit=" + kind + " (obj, shared, exe or llvm)");
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  mlir::sparsek::configureCUDAToolkitPath();
  DialectRegistry registry;
  sparsek::registerAllSparseKDialects(registry);
  MLIRContext ctx(registry);

  std::string err;
  auto file = openInputFile(clInput, &err);
  if (!file)
    return fail(err);
  llvm::SourceMgr sm;
  sm.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  if (!sparsek::checkParserLimits(sm))
    return 1; // Support/ParserLimits.h: input MLIR's parser must not see
  SourceMgrDiagnosticHandler diag(sm, &ctx);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sm, &ctx);
  if (!module)
    return 1; // the parser reported why

  PassManager pm(&ctx);
  if (clTarget == "cuda") {
    sparsek::SparseKNVVMPipelineOptions opts;
    std::string optError;
    llvm::raw_string_ostream optErrorOs(optError);
    if (failed(opts.parseFromString(clGPUOptions, optErrorOs)))
      return fail("invalid --gpu-options '" + clGPUOptions +
                  "': " + optErrorOs.str());
    opts.emitCInterface = true;
    opts.chip = clChip;
    std::string bad;
    if (failed(sparsek::verifySparseKNVVMPipelineOptions(
            opts, [&](const llvm::Twine &msg) { bad = msg.str(); })))
      return fail(bad);
    sparsek::buildSparseKNVVMPipeline(pm, opts);
  } else if (clTarget == "cpu") {
    sparsek::SparseKCPUPipelineOptions opts;
    opts.emitCInterface = true;
    sparsek::buildSparseKCPUPipeline(pm, opts);
  } else {
    return fail("unknown --target=" + clTarget + " (cpu or cuda)");
  }
  if (failed(pm.run(*module)))
    return 1; // passes reported why

  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder)
    return fail(llvm::toString(tmBuilder.takeError()));
  tmBuilder->setRelocationModel(llvm::Reloc::PIC_);
  tmBuilder->setCodeGenOptLevel(clOpt == 0 ? llvm::CodeGenOptLevel::None
                                           : llvm::CodeGenOptLevel::Aggressive);
  auto tm = tmBuilder->createTargetMachine();
  if (!tm)
    return fail(llvm::toString(tm.takeError()));

  llvm::LLVMContext llvmCtx;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmCtx, "sparsek");
  if (!llvmModule)
    return fail("translation to LLVM IR failed");
  ExecutionEngine::setupTargetTripleAndDataLayout(llvmModule.get(),
                                                  tm->get());
  if (llvm::Error e =
          makeOptimizingTransformer(clOpt, 0, tm->get())(llvmModule.get()))
    return fail(llvm::toString(std::move(e)));

  if (kind == "llvm") {
    auto out = openOutputFile(clOutput, &err);
    if (!out)
      return fail(err);
    llvmModule->print(out->os(), nullptr);
    out->keep();
    return 0;
  }

  // Object code, in process.
  std::string objPath = clOutput;
  if (kind != "obj") {
    llvm::SmallString<128> tmp;
    if (llvm::sys::fs::createTemporaryFile("sparsek", "o", tmp))
      return fail("cannot create a temporary object file");
    objPath = std::string(tmp);
  }
  {
    std::error_code ec;
    llvm::ToolOutputFile obj(objPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return fail("cannot write " + objPath + ": " + ec.message());
    llvm::legacy::PassManager cg;
    if ((*tm)->addPassesToEmitFile(cg, obj.os(), nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
      return fail("the target cannot emit object files");
    cg.run(*llvmModule);
    obj.keep();
  }
  if (kind == "obj")
    return 0;

  // Link with the system compiler driver.
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    return fail("no `cc` on PATH to link a " + kind);
  std::vector<std::string> args = {*cc};
  if (kind == "shared")
    args.push_back("-shared");
  args.insert(args.end(), {objPath, "-o", clOutput});
  if (clTarget == "cuda") {
    // The lowered host code calls the mgpu* ABI: link the runtime, found
    // at run time beside the output ($ORIGIN) or where it is now.
    std::string dir = cudaRuntimeDir(argv[0]);
    llvm::SmallString<256> lib(dir);
    llvm::sys::path::append(lib, "libsparsek_cuda_runtime.so");
    if (!llvm::sys::fs::exists(lib)) {
      llvm::sys::fs::remove(objPath);
      return fail("libsparsek_cuda_runtime.so not found in '" + dir +
                  "' (build target sparsek_cuda_runtime, or pass "
                  "--cuda-runtime-dir)");
    }
    args.insert(args.end(), {"-L" + dir, "-lsparsek_cuda_runtime",
                             "-Wl,-rpath,$ORIGIN:" + dir});
  }
  for (const std::string &l : clLink)
    args.push_back("-l" + l);
  args.push_back("-lm");
  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  int rc = llvm::sys::ExecuteAndWait(*cc, argRefs, std::nullopt, {}, 0, 0,
                                     &err);
  llvm::sys::fs::remove(objPath);
  if (rc != 0)
    return fail("linking failed" + (err.empty() ? "" : ": " + err));
  return 0;
}
