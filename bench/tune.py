#!/usr/bin/env python3
"""The tuning tool: measures candidate tile and schedule parameters of the
generated kernels on the device and writes the tuning table
(lib/Conversion/SparseKToGPU/TuningTable.txt; format in Tuning.h).

Three steps, one per machine:

  here:    python3 bench/tune.py build [--kind attention|decode|all]
           compiles every candidate of each tuned configuration (the
           benchmark modules with sparsek-compile --gpu-options) into
           build-tune/ (git-ignored) with a manifest: about 37 MiB for
           both kinds.
  device:  carry ["build-tune"], python3 bench/tune.py run
           checks each candidate against the reference once, then times
           them all in interleaved rounds (same card, same call), with a
           progress line per measurement; writes build-tune/results.json
           and a copy under $OUT (which the device tool brings back).
  here:    python3 bench/tune.py write results.json
           puts the fastest candidate that passed its check into the table
           as the line for its configuration, with a comment saying when,
           on which device and how it compared.

Configurations tuned (each a benchmark driver and its module):
  attention  bench/layer_gpu.mlir (bf16, k 256, w 512) in gpu-layer-bench
             at B 1, Hq 8, Hkv 2 (group 4), D 128; block-size x key-tile;
             time: the layer's median ms at 16K and 64K tokens.
  decode     bench/decode_gpu.mlir (bf16, D 128, k 256, w 512) in
             gpu-decode-bench at B 64, Hq 32, Hkv 8 (group 4); the fused
             kernel's phase1-tiles (4, 8; 2, 3, 5, 6, 10 and 12 were
             slower) x pre-issue x fused-lengths, min-blocks 0 (no
             register bound), and one probe of min-blocks 3 (the three
             blocks per SM its shared memory allows; 72% slower on an
             H200); time: a step's us at 8K and 32K contexts. Each candidate is also
             checked on sparsek-check's decode grid (gpu-grid decode, the
             grid's kernels compiled with the candidate's options).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "lib/Conversion/SparseKToGPU/TuningTable.txt"
KEYS = ("kind", "chip", "elem", "d", "dv", "k", "window", "group")

# Each tuned configuration: its table key, module, driver, the pipeline
# options of each candidate, how a candidate is checked and timed (argv
# after the binary; the metric's regex), and which unit it reports.
CONFIGS = {
    "attention": {
        # The module's head dims and group are dynamic (as the Python
        # package's are): its line has `*` there, so that the module (and
        # every such layer of bf16, k 256, w 512) uses it.
        # sparsek-compile's chip (sm_90a: the wgmma candidates; an sm_90
        # line serves sm_90a too).
        "key": dict(kind="attention", chip="sm_90a", elem="bf16", d="*",
                    dv="*", k=256, window=512, group="*"),
        "shape": "B 1, Hq 8, Hkv 2, D 128",
        "module": "bench/layer_gpu.mlir",
        "driver": "gpu-layer-bench",
        # Key tiles of 48 and 64 take dynamic shared memory; ping-pong
        # needs eight warps (block-size 128). The twenty-fifth session's
        # runs 160-161: 128 x 64 with ping-pong fastest at 64K. wgmma
        # needs key tiles of 64 (twenty-sixth session, runs 166-167: in
        # step faster than ping-pong).
        "candidates": [
            {"block-size": b, "key-tile": t, "ping-pong": 0}
            for b in (64, 128) for t in (32, 64)]
        + [{"block-size": 128, "key-tile": t, "ping-pong": 1}
           for t in (32, 48, 64)]
        + [{"block-size": b, "key-tile": 64, "ping-pong": p, "wgmma": 1}
           for b, p in ((64, 0), (128, 0), (128, 1))],
        "check": [["16384", "1", "check"]],
        "check_pass": r"check PASS|PASS",
        "sizes": {"16K": ["16384", "3"], "64K": ["65536", "3"]},
        "metric": r"median_ms\s+([0-9.]+)",
        "unit": "ms",
    },
    "decode": {
        "key": dict(kind="decode", chip="sm_90", elem="bf16", d=128, dv=128,
                    k=256, window=512, group=4),
        "shape": "B 64, Hq 32, Hkv 8",
        "module": "bench/decode_gpu.mlir",
        "driver": "gpu-decode-bench",
        "candidates": [
            {"decode-phase1-tiles": p, "decode-pre-issue": i,
             "decode-fused-lengths": f, "decode-min-blocks": m}
            for p in (4, 8) for i in (1, 2) for f in (0, 1) for m in (0,)]
        # min-blocks 3 (three blocks per SM at 168 registers) measured 72%
        # slower on an H200 (run 127): one probe.
        + [{"decode-phase1-tiles": 8, "decode-pre-issue": 1,
            "decode-fused-lengths": 0, "decode-min-blocks": 3}],
        # The fused path (B x Hkv > 256 rows), then a batch whose blocks
        # race for the same sequences' lengths; and sparsek-check's decode
        # grid compiled with the candidate's options (the fused path's
        # fix-ups, passes of more than 16 heads, ragged batches, ties).
        "check": [["64", "512", "8", "check"], ["40", "512", "8", "check"]],
        "grid": "decode",
        "check_pass": r": PASS",
        "sizes": {"8K": ["64", "8192", "64"], "32K": ["64", "32768", "64"]},
        "metric": r"step_us\s+([0-9.]+)",
        "unit": "us",
    },
}

# A candidate's parameters in the table (the pipeline options' names
# without the decode- prefix).
def table_params(params: dict) -> dict:
    return {k.removeprefix("decode-"): v for k, v in params.items()}


def candidate_name(params: dict) -> str:
    short = {"block-size": "bs", "key-tile": "kt", "ping-pong": "pp",
             "wgmma": "wg",
             "decode-phase1-tiles": "p",
             "decode-pre-issue": "i", "decode-fused-lengths": "l",
             "decode-min-blocks": "m"}
    return "-".join(f"{short[k]}{v}" for k, v in params.items())


def build(args) -> int:
    out = Path(args.out)
    kinds = list(CONFIGS) if args.kind == "all" else [args.kind]
    build_dir = Path(args.build_dir)
    compiler = build_dir / "bin/sparsek-compile"
    runtime = build_dir / "lib/libsparsek_cuda_runtime.so"
    drivers = [CONFIGS[k]["driver"] for k in kinds]
    # The grid driver's own objects (not the whole grid's kernels).
    grid_objs = [f"device/gpu-grid/CMakeFiles/gpu-grid-driver.dir/{o}" for o in
                 ("gpu-grid.cpp.o", "__/sparsek-check/Cases.cpp.o")]
    if any(CONFIGS[k].get("grid") for k in kinds):
        drivers += ["sparsek-check", "gpu-grid-driver"]
    cmd = ["cmake", "--build", str(build_dir), "--target", *drivers]
    print("$", shlex.join(cmd), flush=True)
    if not args.dry_run:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        shutil.copy(runtime, out / runtime.name)
    manifest = {"configs": []}
    for kind in kinds:
        cfg = CONFIGS[kind]
        # The driver's object file, built by its CMake target above.
        objs = sorted((build_dir / "device/bench/CMakeFiles" /
                       f"{cfg['driver']}.dir").glob("*.cpp.o"))
        if not objs and not args.dry_run:
            sys.exit(f"tune.py: no object file of {cfg['driver']} in {build_dir}")
        obj = objs[0] if objs else Path(f"<{cfg['driver']}.cpp.o>")
        entry = {"kind": kind, "key": cfg["key"], "candidates": []}
        grid_mlir = out / kind / "grid.mlir"
        if cfg.get("grid"):
            emit = [str(build_dir / "bin/sparsek-check"), f"--grid={cfg['grid']}",
                    f"--emit-module={grid_mlir}"]
            print("$", shlex.join(emit), flush=True)
            if not args.dry_run:
                (out / kind).mkdir(parents=True, exist_ok=True)
                subprocess.run(emit, check=True, stdout=subprocess.DEVNULL)
        cands = cfg["candidates"]
        if args.only:
            cands = [c for c in cands if candidate_name(c) in args.only]
        for i, params in enumerate(cands, 1):
            name = candidate_name(params)
            folder = out / kind / name
            opts = " ".join(f"{k}={v}" for k, v in params.items())
            o = folder / "module.o"
            compile_cmd = [str(compiler), "--target=cuda",
                           f"--gpu-options={opts}", str(ROOT / cfg["module"]),
                           "-o", str(o)]
            link_cmd = [os.environ.get("CXX", "c++"), str(o), str(obj), "-o",
                        str(folder / cfg["driver"]), "-Wl,-rpath,$ORIGIN/../..",
                        str(runtime), str(build_dir / "lib/libSparseKReference.a")]
            print(f"[{i}/{len(cands)}] {kind} {name}: {opts}", flush=True)
            cmds = [compile_cmd, link_cmd]
            if cfg.get("grid"):
                g = folder / "grid.o"
                cmds += [
                    [str(compiler), "--target=cuda", f"--gpu-options={opts}",
                     str(grid_mlir), "-o", str(g)],
                    [os.environ.get("CXX", "c++"), str(g),
                     *(str(build_dir / x) for x in grid_objs), "-o",
                     str(folder / "gpu-grid"), "-rdynamic",
                     "-Wl,-rpath,$ORIGIN/../..", str(runtime),
                     str(build_dir / "lib/libSparseKReference.a"), "-ldl"]]
            if args.dry_run:
                for c in cmds:
                    print("$", shlex.join(c))
            else:
                folder.mkdir(parents=True)
                start = time.time()
                for c in cmds:
                    subprocess.run(c, check=True)
                for f in folder.glob("*.o"):
                    f.unlink()
                print(f"    compiled in {time.time() - start:.1f} s", flush=True)
            cand = {"name": name, "params": params,
                    "binary": f"{kind}/{name}/{cfg['driver']}"}
            if cfg.get("grid"):
                cand["grid"] = [f"{kind}/{name}/gpu-grid", cfg["grid"]]
            entry["candidates"].append(cand)
        manifest["configs"].append(entry)
    text = json.dumps(manifest, indent=1)
    if args.dry_run:
        print(text)
    else:
        (out / "manifest.json").write_text(text + "\n")
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        print(f"{out}: {size / 2**20:.1f} MiB (the device tool carries 64)")
    return 0


def run_binary(binary: Path, argv: list, timeout: int) -> str:
    try:
        done = subprocess.run([str(binary), *argv], capture_output=True,
                              text=True, timeout=timeout)
        return done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        return "TIMEOUT"
    except OSError as e:
        return f"cannot run {binary}: {e}"


def run(args) -> int:
    folder = Path(args.dir)
    manifest = json.loads((folder / "manifest.json").read_text())
    try:
        device = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version",
             "--format=csv,noheader"],
            capture_output=True, text=True).stdout.strip() or "unknown"
    except OSError:
        device = "unknown (no nvidia-smi)"
    print(f"device: {device}", flush=True)
    results = {"date": datetime.date.today().isoformat(), "device": device,
               "rounds": args.rounds, "configs": []}
    for entry in manifest["configs"]:
        if args.kind not in ("all", entry["kind"]):
            continue
        cfg = CONFIGS[entry["kind"]]
        cands = [c for c in entry["candidates"]
                 if not args.only or c["name"] in args.only]
        n = len(cands)
        out = {"kind": entry["kind"], "key": entry["key"], "unit": cfg["unit"],
               "shape": cfg["shape"], "candidates": []}
        for i, c in enumerate(cands, 1):
            passed = True
            for argv in cfg["check"]:
                text = run_binary(folder / c["binary"], argv, args.timeout)
                ok = re.search(cfg["check_pass"], text) is not None and \
                    "FAIL" not in text
                passed = passed and ok
            grid_note = ""
            if c.get("grid"):
                binary, grid = c["grid"]
                text = run_binary(folder / binary, [grid], args.timeout)
                m = re.search(r"(\d+) passed, (\d+) failed", text)
                passed = passed and m is not None and int(m.group(2)) == 0
                grid_note = (f" (gpu-grid {grid}: "
                             f"{m.group(0) if m else text.strip()[-200:]})")
            print(f"[{i}/{n}] {entry['kind']} {c['name']}: check "
                  f"{'PASS' if passed else 'FAIL'}{grid_note}", flush=True)
            out["candidates"].append({**c, "check": passed,
                                      "times": {s: [] for s in cfg["sizes"]}})
        # Rounds over all candidates (interleaved: drift hits all alike).
        timed = [c for c in out["candidates"] if c["check"]]
        total = args.rounds * len(timed) * len(cfg["sizes"])
        step = 0
        for r in range(args.rounds):
            for c in timed:
                for size, argv in cfg["sizes"].items():
                    step += 1
                    text = run_binary(folder / c["binary"], argv, args.timeout)
                    m = re.search(cfg["metric"], text)
                    if m:
                        c["times"][size].append(float(m.group(1)))
                    print(f"  [{step}/{total}] round {r + 1} {c['name']:<14} "
                          f"{size:>4}: {m.group(1) if m else '?'} {cfg['unit']}",
                          flush=True)
        for s, c in ranking(out):
            print(f"  {c['name']:<14} mean {s:.4g} {cfg['unit']}")
        results["configs"].append(out)
    text = json.dumps(results, indent=1) + "\n"
    (folder / "results.json").write_text(text)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "results.json").write_text(text)
    print(f"wrote {folder / 'results.json'}")
    return 0


def score(c: dict):
    """A candidate's objective: the mean of its sizes' medians (None when
    it failed its check or a size has no time)."""
    if not c["check"] or any(not t for t in c["times"].values()):
        return None
    return statistics.mean(statistics.median(t) for t in c["times"].values())


def ranking(cfg: dict) -> list:
    """(score, candidate) of the candidates that passed and were timed,
    fastest first."""
    scored = [(score(c), c) for c in cfg["candidates"]]
    return sorted(((s, c) for s, c in scored if s is not None),
                  key=lambda sc: sc[0])


def key_words(key: dict) -> list:
    return [str(key[k]) for k in KEYS]


def write(args) -> int:
    results = json.loads(Path(args.results).read_text())
    table = Path(args.table)
    lines = table.read_text().splitlines()
    for cfg in results["configs"]:
        ranked = ranking(cfg)
        if not ranked:
            print(f"{cfg['kind']}: no candidate passed and was timed; table unchanged",
                  file=sys.stderr)
            continue
        (best_score, best), rest = ranked[0], ranked[1:]
        unit = cfg["unit"]

        def describe(c):
            return ", ".join(f"{s} {statistics.median(t):g}" for s, t in c["times"].items())
        comment = [
            f"# bench/tune.py, {results['date']}, {results['device']}, "
            f"{cfg.get('shape', '?')}: {best['name']} fastest of {len(ranked)} "
            f"checked candidates ({describe(best)} {unit}; mean {best_score:.4g})"]
        if rest:
            comment.append("# next: " + "; ".join(
                f"{c['name']} {s:.4g}" for s, c in rest[:3]))
        failed = [c["name"] for c in cfg["candidates"] if not c["check"]]
        if failed:
            comment.append("# failed their check: " + ", ".join(failed))
        params = table_params(best["params"])
        words = key_words(cfg["key"])
        # Columns as in the table's header.
        widths = (11, 7, 6, 5, 5, 5, 7, 6)
        line = ("".join(f"{w:<{n}}" for w, n in zip(words, widths)) + "| "
                + " ".join(f"{k}={v}" for k, v in params.items()))
        # Replace the line of the same key (and the comments right above
        # it that this tool wrote), or append.
        found = None
        for i, l in enumerate(lines):
            body = l.split("#")[0].strip()
            if body and body.split("|")[0].split() == words:
                found = i
        if found is not None:
            start = found
            while start > 0 and lines[start - 1].startswith(("# bench/tune.py", "# next:",
                                                             "# failed their check:")):
                start -= 1
            lines[start:found + 1] = comment + [line]
        else:
            lines += [""] + comment + [line]
        print(f"{cfg['kind']}: {line}")
    table.write_text("\n".join(lines) + "\n")
    print(f"wrote {table}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="compile the candidates (here)")
    b.add_argument("--kind", choices=["attention", "decode", "all"], default="all")
    b.add_argument("--only", nargs="*", help="candidate names to build")
    b.add_argument("--out", default=str(ROOT / "build-tune"))
    b.add_argument("--build-dir", default=str(ROOT / "build"))
    b.add_argument("--dry-run", action="store_true",
                   help="print the commands and the manifest only")
    r = sub.add_parser("run", help="check and time the candidates (device)")
    r.add_argument("--dir", default=str(ROOT / "build-tune"))
    r.add_argument("--kind", choices=["attention", "decode", "all"], default="all")
    r.add_argument("--only", nargs="*", help="candidate names to run")
    r.add_argument("--rounds", type=int, default=2)
    r.add_argument("--timeout", type=int, default=240)
    w = sub.add_parser("write", help="write the winners into the table (here)")
    w.add_argument("results")
    w.add_argument("--table", default=str(TABLE))
    args = p.parse_args(argv)
    return {"build": build, "run": run, "write": write}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
