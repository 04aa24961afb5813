# -*- Python -*-
# lit configuration for the sparsek regression and integration tests.

import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "SPARSEK"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.sparsek_obj_root, "test")
config.excludes = ["Inputs", "CMakeLists.txt", "README.md", "lit.cfg.py",
                   "lit.site.cfg.py", "smoke_driver.cpp", "ops_driver.cpp"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(
    ("%mlir_lib_dir", config.llvm_lib_dir))
config.substitutions.append(
    ("%mlir_runner_utils",
     os.path.join(config.llvm_lib_dir, "libmlir_runner_utils.so")))
config.substitutions.append(
    ("%mlir_c_runner_utils",
     os.path.join(config.llvm_lib_dir, "libmlir_c_runner_utils.so")))

config.substitutions.append(("%host_cxx", config.host_cxx))
config.substitutions.append(("%host_cc", config.host_cc))
config.substitutions.append(("%sparsek_src_root", config.sparsek_src_root))
config.substitutions.append(("%sparsek_obj_root", config.sparsek_obj_root))

llvm_config.with_system_environment(
    ["HOME", "INCLUDE", "LIB", "TMP", "TEMP", "CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"])
llvm_config.use_default_substitutions()

tool_dirs = [config.sparsek_tools_dir, config.llvm_tools_dir]
tools = [
    "sparsek-opt",
    "sparsek-check",
    "sparsek-compile",
    "sparsek-fuzz-replay",
    ToolSubst("mlir-runner", unresolved="ignore"),
    ToolSubst("mlir-opt", unresolved="ignore"),
    ToolSubst("mlir-translate", unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.sparsek_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# ptxas validates generated PTX where the CUDA toolkit is installed.
if shutil.which("ptxas"):
    config.available_features.add("ptxas")

# Every test has a time limit (SPARSEK_TEST_TIMEOUT seconds, default 600),
# so a test that would hang or turn quadratic fails instead (needs psutil).
try:
    import psutil  # noqa: F401
    lit_config.maxIndividualTestTime = int(
        os.environ.get("SPARSEK_TEST_TIMEOUT", "600"))
except ImportError:
    lit_config.warning("psutil missing: no per-test time limit")
