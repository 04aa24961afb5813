"""examples/python runs as a newcomer would run it (its own process, the
repository's compiler, this session's cache)."""

import os
import subprocess
import sys

from conftest import ROOT


def test_quickstart_runs():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "python" / "quickstart.py")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "max |out - float64 reference|" in proc.stdout
    assert "step 2: loss" in proc.stdout
