# -*- Python -*-
# Runs the GoogleTest unit tests (reference semantics) under lit.

import os

import lit.formats

config.name = "SPARSEK-Unit"
config.suffixes = []
config.test_exec_root = config.sparsek_unittests_dir
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
