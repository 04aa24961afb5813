"""Kernel packs for machines without the sparsek compiler.

    python -m sparsek.pack -o DIR --target cpu --dtype bf16 --topk 256 \\
        --window 512 [--gate kv] [--noncausal] [--scale S] [--backward]
        [--decode-head-dim 128]

compiles each listed configuration (every combination of the repeated
options) and writes DIR/<key>.so plus DIR/index.json; on the other machine
``SPARSEK_KERNELS=DIR`` makes ``sparsek`` load from it. A --target=cuda
library needs libsparsek_cuda_runtime.so beside it (copied here).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
from pathlib import Path

from . import _compiler


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sparsek.pack", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", required=True, help="pack folder")
    ap.add_argument("--target", action="append", choices=["cpu", "cuda"])
    ap.add_argument("--dtype", action="append", choices=["f32", "f16", "bf16"])
    ap.add_argument("--topk", action="append", type=int, required=True)
    ap.add_argument("--window", action="append", type=int, required=True)
    ap.add_argument("--gate", action="append", choices=list(_compiler._GATES))
    ap.add_argument("--noncausal", action="store_true")
    ap.add_argument("--scale", type=float, default=None)
    ap.add_argument("--backward", action="store_true",
                    help="also the gradients' kernels (for training; causal "
                         "layers also get the forward with the log-sum-exp "
                         "and the backward given it, and that pair in block "
                         "form: the backward given the forward's selection)")
    ap.add_argument("--deterministic", action="store_true",
                    help="with --backward and a cuda target: also the "
                         "deterministic backward's kernels (taken under "
                         "torch.use_deterministic_algorithms(True))")
    ap.add_argument("--decode-head-dim", action="append", type=int, default=[],
                    help="also sparsek.decode's prefill and step kernels for this "
                         "head dim (repeatable)")
    args = ap.parse_args(argv)
    compiler = _compiler.find_compiler()
    if compiler is None:
        print("sparsek.pack: no sparsek-compile (set SPARSEK_COMPILE or PATH)", file=sys.stderr)
        return 2
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    index_path = out / "index.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    for target, dtype, topk, window, gate in itertools.product(
            args.target or ["cpu"], args.dtype or ["f32"], args.topk, args.window,
            args.gate or ["kv"]):
        if topk < 1 or window < 0 or (args.noncausal and window):
            print(f"sparsek.pack: skipping topk={topk} window={window}", file=sys.stderr)
            continue
        # With --backward: the gradients, and for causal layers training's
        # pair (the forward that also returns the log-sum-exp and the
        # backward given it, which autograd uses).
        # Causal layers also get that pair in block form (the forward
        # returns its block selection, the backward is given it: what
        # autograd uses), for both query blocks block_size_for picks.
        variants = [(False, False, False, 0)]
        if args.backward:
            variants.append((True, False, False, 0))
            if not args.noncausal:
                variants += [(False, True, False, 0), (True, True, False, 0)]
                variants += [(bwd, True, False, bs) for bs in (32, 128)
                             for bwd in (False, True)]
            if args.deterministic and target == "cuda":
                variants += [(True, lse, True, 0) for bwd, lse, _, bs in variants
                             if bwd and not bs]
        for bwd, lse, det, blocks in variants:
            cfg = _compiler.Config(target=target, dtype=dtype, topk=topk, window=window,
                                   causal=not args.noncausal, scale=args.scale, gate=gate,
                                   backward=bwd, lse=lse, deterministic=det,
                                   blocks=blocks)
            name = cfg.key() + ".so"
            _compiler.compile_config(cfg, out / name, compiler)
            index[cfg.key()] = name
            print(f"sparsek.pack: {name}")
        for d in args.decode_head_dim:
            for step in (False, True):
                cfg = _compiler.DecodeConfig(target=target, dtype=dtype, topk=topk,
                                             window=window, head_dim=d, step=step,
                                             scale=args.scale, gate=gate)
                name = cfg.key() + ".so"
                _compiler.compile_config(cfg, out / name, compiler)
                index[cfg.key()] = name
                print(f"sparsek.pack: {name}")
        if target == "cuda":
            rt = Path(compiler).resolve().parent.parent / "lib" / "libsparsek_cuda_runtime.so"
            if rt.is_file():
                shutil.copy2(rt, out / rt.name)
    index_path.write_text(json.dumps(index, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
