//===- sparsek-opt.cpp - sparsek optimizer driver ---------------*- C++ -*-===//
//
// mlir-opt with the sparsek dialect and passes, plus every upstream dialect,
// extension and pass that the sparsek pipelines build on. The input goes
// through sparsek's parser-limit check (Support/ParserLimits.h) before MLIR's
// parser sees it.
//
//===----------------------------------------------------------------------===//

#include "sparsek/InitAll.h"
#include "sparsek/Support/ParserLimits.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  mlir::sparsek::configureCUDAToolkitPath();
  mlir::sparsek::registerAllSparseKPasses();
  mlir::DialectRegistry registry;
  mlir::sparsek::registerAllSparseKDialects(registry);
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "sparsek optimizer driver\n", registry);

  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  // --show-dialects and --list-passes read no input: mlir-opt's own path.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(mlir::MlirOptMain(
        argc, argv, inputFilename, outputFilename, registry));
  llvm::InitLLVM y(argc, argv); // as MlirOptMain does on its own path

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> file =
      mlir::openInputFile(inputFilename, &errorMessage);
  if (!file) {
    llvm::errs() << errorMessage << "\n";
    return EXIT_FAILURE;
  }
  {
    // The check reads the buffer in place; the SourceMgr gets a reference.
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBuffer(file->getMemBufferRef(),
                                         /*RequiresNullTerminator=*/false),
        llvm::SMLoc());
    if (!mlir::sparsek::checkParserLimits(sourceMgr))
      return EXIT_FAILURE;
  }
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << errorMessage << "\n";
    return EXIT_FAILURE;
  }
  if (mlir::failed(mlir::MlirOptMain(output->os(), std::move(file), registry,
                                     config)))
    return EXIT_FAILURE;
  output->keep();
  return EXIT_SUCCESS;
}
