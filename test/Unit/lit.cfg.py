# -*- Python -*-
# Runs the GoogleTest unit tests (reference semantics) under lit.

import os

import lit.formats

config.name = "SPARSEK-Unit"
config.suffixes = []
config.test_exec_root = config.sparsek_unittests_dir
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")

# Every test has a time limit (SPARSEK_TEST_TIMEOUT seconds, default 600),
# so a test that would hang or turn quadratic fails instead (needs psutil).
try:
    import psutil  # noqa: F401
    lit_config.maxIndividualTestTime = int(
        os.environ.get("SPARSEK_TEST_TIMEOUT", "600"))
except ImportError:
    lit_config.warning("psutil missing: no per-test time limit")
