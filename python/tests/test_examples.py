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


def test_training_demo_runs(tmp_path):
    """examples/train/train.py end to end at toy sizes on the CPU (each
    attention, a few steps, evaluation, step timing, the report)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    script = ROOT / "examples" / "train" / "train.py"
    for attention in ("sparsek", "dense", "window"):
        proc = subprocess.run(
            [sys.executable, str(script), "--attention", attention, "--out",
             str(tmp_path / attention), "--device", "cpu", "--seq", "128", "--pairs", "4",
             "--steps", "3", "--window", "16", "--topk", "8", "--hidden", "64", "--layers",
             "2", "--batch", "2", "--eval-seq", "128", "256", "--eval-batches", "1",
             "--time-seq", "128", "--random-positions", "512", "--random-positions-min", "64"],
            env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"{attention}: eval at 256 tokens" in proc.stdout
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "train" / "report.py"),
                           str(tmp_path)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sparsek k 8 + window 16" in (tmp_path / "report.md").read_text()
