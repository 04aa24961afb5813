"""Kernels from the sparsek compiler: configurations, the compile cache and
kernel packs.

A configuration is everything a compiled layer fixes (target, element type,
k, window, causal, scale, gate); shapes stay dynamic. Its kernel is a shared
library built by ``sparsek-compile`` from a generated module, cached under
``SPARSEK_CACHE_DIR`` (default: the user's cache folder) in a file named by
a hash of the compiler's build and the module text. Machines without the
compiler load kernel packs (``SPARSEK_KERNELS``) written by
``python -m sparsek.pack``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Dict, Optional

ENTRY = "sparsek_attention"
ENTRY_BACKWARD = "sparsek_attention_backward"
_ELEM = {"f32": "f32", "f16": "f16", "bf16": "bf16"}
_GATES = ("kv", "v", "logit", "none")


class SparseKError(RuntimeError):
    """A kernel could not be found, built or run."""


@dataclasses.dataclass(frozen=True)
class Config:
    """One compiled layer: the attributes of ``sparsek.attention`` and the
    target. Shapes are dynamic."""

    target: str  # "cpu" or "cuda"
    dtype: str  # "f32", "f16", "bf16"
    topk: int
    window: int
    causal: bool = True
    scale: Optional[float] = None
    gate: str = "kv"
    backward: bool = False  # the layer's gradients (attention_backward)
    # Causal only: the forward also writes every row's log-sum-exp
    # [B, Hq, N] (f32), and the backward is given it (no first sweep).
    lse: bool = False
    # The backward only: bitwise the same gradients run to run (GPU: partial
    # sums added in a fixed order instead of floating-point atomics).
    deterministic: bool = False
    # With lse (causal): training's pair in block form, queries per block.
    # The forward also returns its block selection (sparsek.block_select's
    # five tensors) and the backward is given it
    # (sparsek.block_attention_backward): the backward selects nothing.
    blocks: int = 0

    @property
    def entry(self) -> str:
        return ENTRY_BACKWARD if self.backward else ENTRY

    @property
    def nargs(self) -> int:
        return ((10 if self.backward else 5) + (1 if self.lse else 0)
                + (5 if self.blocks else 0))

    def key(self) -> str:
        """A name for the configuration, independent of the compiler."""
        scale = "default" if self.scale is None else repr(float(self.scale))
        return (f"{self.target}-{self.dtype}-k{self.topk}-w{self.window}-"
                f"{'causal' if self.causal else 'noncausal'}-s{scale}-"
                f"{self.gate}{'-bwd' if self.backward else ''}"
                f"{'-lse' if self.lse else ''}"
                f"{'-det' if self.deterministic else ''}"
                f"{f'-b{self.blocks}' if self.blocks else ''}")

    def module(self) -> str:
        """The MLIR module of the layer (destination-passing style, every
        dimension dynamic, inputs and output any strided view)."""
        t = _ELEM[self.dtype]
        t4 = f"tensor<?x?x?x?x{t}>"
        out = f"memref<?x?x?x?x{t}, strided<[?, ?, ?, ?], offset: ?>>"
        attrs = [f"k = {int(self.topk)} : i64", f"window = {int(self.window)} : i64",
                 f"causal = {'true' if self.causal else 'false'}",
                 f"gate = #sparsek.gate<{self.gate}>"]
        if self.scale is not None:
            attrs.append(f"scale = {float(self.scale)!r} : f64")
        if self.lse and not self.causal:
            raise ValueError("sparsek: the log-sum-exp needs a causal layer")
        if self.deterministic and not self.backward:
            raise ValueError("sparsek: deterministic is a backward option")
        if self.deterministic:
            attrs.append("deterministic")
        t3 = "tensor<?x?x?xf32>"
        f32out = "memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>"
        if self.blocks:
            if not (self.lse and self.causal) or self.deterministic or self.blocks < 1:
                raise ValueError("sparsek: the block form needs a causal layer with lse "
                                 "(not deterministic) and blocks >= 1")
            return self._block_module(t4, out, t3, f32out, attrs)
        if self.backward:
            lse_arg, lse_op, lse_type = ((f", %lse: {t3}", ", %lse", f", {t3}")
                                         if self.lse else ("", "", ""))
            return _backward_entry("sparsek.attention_backward", t4, out, f32out, lse_arg,
                                   lse_op, lse_type, attrs)
        if self.lse:
            return (
                f"func.func @{ENTRY}(%q: {t4}, %key: {t4}, %value: {t4},\n"
                f"    %u: tensor<?x?x?xf32>, %out: {out}, %lse: {f32out}) {{\n"
                f"  %o:2 = \"sparsek.attention\"(%q, %key, %value, %u) {{{', '.join(attrs)}}}\n"
                f"       : ({t4}, {t4}, {t4}, tensor<?x?x?xf32>) -> ({t4}, {t3})\n"
                f"  bufferization.materialize_in_destination %o#0 in restrict writable %out\n"
                f"    : ({t4}, {out}) -> ()\n"
                f"  bufferization.materialize_in_destination %o#1 in restrict writable %lse\n"
                f"    : ({t3}, {f32out}) -> ()\n"
                f"  return\n}}\n")
        return (
            f"func.func @{ENTRY}(%q: {t4}, %key: {t4}, %value: {t4},\n"
            f"    %u: tensor<?x?x?xf32>, %out: {out}) {{\n"
            f"  %o = \"sparsek.attention\"(%q, %key, %value, %u) {{{', '.join(attrs)}}}\n"
            f"       : ({t4}, {t4}, {t4}, tensor<?x?x?xf32>) -> {t4}\n"
            f"  bufferization.materialize_in_destination %o in restrict writable %out\n"
            f"    : ({t4}, {out}) -> ()\n"
            f"  return\n}}\n")


    def _block_module(self, t4, out, t3, f32out, attrs) -> str:
        """Training's pair in block form (see ``blocks``)."""
        width = int(self.topk) + int(self.blocks) - 1
        ti3 = "tensor<?x?x?xi32>"
        sel_types = [t3, ti3, t3, f"tensor<?x?x?x{width}xi32>", ti3]
        sel = ", ".join(sel_types)
        bs = f"block_size = {int(self.blocks)} : i64"
        # block_attention has neither k nor causal.
        att_attrs = [a for a in attrs if not a.startswith(("k =", "causal ="))]
        names = ("kth_score", "kth_index", "tau", "union_keys", "union_count")
        if self.backward:
            args = ", ".join(f"%{n}: {t}" for n, t in zip(names, sel_types))
            bw_attrs = [a for a in attrs if not a.startswith("causal =")] + [bs]
            return _backward_entry(
                "sparsek.block_attention_backward", t4, out, f32out,
                f", %lse: {t3}, {args}", ", %lse, " + ", ".join("%" + n for n in names),
                f", {t3}, {sel}", bw_attrs)
        mem = {"f32": "memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>",
               "i32": "memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>"}
        sel_outs = [mem["f32"], mem["i32"], mem["f32"],
                    f"memref<?x?x?x{width}xi32, strided<[?, ?, ?, ?], offset: ?>>",
                    mem["i32"]]
        args = ", ".join(f"%{n}: {t}" for n, t in zip(names, sel_outs))
        mats = "".join(
            f"  bufferization.materialize_in_destination %s#{i} in restrict writable %{n}\n"
            f"    : ({t}, {m}) -> ()\n"
            for i, (n, t, m) in enumerate(zip(names, sel_types, sel_outs)))
        return (
            f"func.func @{ENTRY}(%q: {t4}, %key: {t4}, %value: {t4},\n"
            f"    %u: {t3}, %out: {out}, %lse: {f32out}, {args}) {{\n"
            f"  %c2 = arith.constant 2 : index\n"
            f"  %n = tensor.dim %q, %c2 : {t4}\n"
            f"  %s:5 = \"sparsek.block_select\"(%u, %n) "
            f"{{k = {int(self.topk)} : i64, window = {int(self.window)} : i64, {bs}}}\n"
            f"       : ({t3}, index) -> ({sel})\n"
            f"  %o:2 = \"sparsek.block_attention\"(%q, %key, %value, %u, "
            f"%s#0, %s#1, %s#2, %s#3, %s#4) {{{', '.join(att_attrs + [bs])}}}\n"
            f"       : ({t4}, {t4}, {t4}, {t3}, {sel}) -> ({t4}, {t3})\n"
            f"  bufferization.materialize_in_destination %o#0 in restrict writable %out\n"
            f"    : ({t4}, {out}) -> ()\n"
            f"  bufferization.materialize_in_destination %o#1 in restrict writable %lse\n"
            f"    : ({t3}, {f32out}) -> ()\n"
            + mats +
            f"  return\n}}\n")


def _backward_entry(op, t4, out, f32out, params, operands, types, attrs) -> str:
    """The backward entry point: `op`'s four gradients of the layer's q, key,
    value, u, out (%o) and dout (%g), plus `operands` (declared by `params`,
    of `types`), written into the dq, dk, dv and du arguments."""
    t3 = "tensor<?x?x?xf32>"
    outs = ", ".join(f"%{n}: {out}" for n in ("dq", "dk", "dv")) + f", %du: {f32out}"
    res = ", ".join([t4] * 3) + ", tensor<?x?x?xf32>"
    mats = "".join(
        f"  bufferization.materialize_in_destination %r#{i} in restrict writable %{n}\n"
        f"    : ({t4}, {out}) -> ()\n" for i, n in enumerate(("dq", "dk", "dv")))
    return (
        f"func.func @{ENTRY_BACKWARD}(%q: {t4}, %key: {t4}, %value: {t4},\n"
        f"    %u: {t3}, %o: {t4}, %g: {t4}{params}, {outs}) {{\n"
        f"  %r:4 = \"{op}\"(%q, %key, %value, %u, %o, %g{operands}) "
        f"{{{', '.join(attrs)}}}\n"
        f"       : ({t4}, {t4}, {t4}, {t3}, {t4}, {t4}{types}) -> ({res})\n"
        + mats +
        f"  bufferization.materialize_in_destination %r#3 in restrict writable %du\n"
        f"    : ({t3}, {f32out}) -> ()\n"
        f"  return\n}}\n")


def block_size_for(hq: int, hkv: int) -> int:
    """The query block of training's pair in block form for a group of
    hq / hkv query heads per KV head: 32 when the group divides by 4 (the
    GPU kernels' four-head layout, 128 rows per thread block), else 128
    (the one-head layout)."""
    return 32 if hkv > 0 and (hq // hkv) % 4 == 0 else 128


@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    """One compiled decode entry (``sparsek.decode_prefill`` or
    ``sparsek.decode_step``, docs/Semantics.md section 10): target, element
    type, k, window, the head dim (static: the GPU kernel is built per head
    dim; D = Dv), gate and scale. Batch, heads and band capacity stay
    dynamic. The state is the caller's tensors, updated in place."""

    target: str
    dtype: str
    topk: int
    window: int
    head_dim: int
    step: bool  # False: the prefill entry
    scale: Optional[float] = None
    gate: str = "kv"

    @property
    def entry(self) -> str:
        return "sparsek_decode_step" if self.step else "sparsek_decode_prefill"

    @property
    def nargs(self) -> int:
        return 14 if self.step else 13

    def key(self) -> str:
        scale = "default" if self.scale is None else repr(float(self.scale))
        return (f"{self.target}-{self.dtype}-k{self.topk}-w{self.window}-"
                f"d{self.head_dim}-s{scale}-{self.gate}-"
                f"{'decode-step' if self.step else 'decode-prefill'}")

    def module(self) -> str:
        t, d = _ELEM[self.dtype], int(self.head_dim)
        slots = int(self.topk) + int(self.window)

        def mem(shape, e):
            rank = shape.count("x") + 1
            return (f"memref<{shape}x{e}, strided<[{', '.join(['?'] * rank)}], "
                    "offset: ?>>")

        state = [("keys", f"?x?x{slots}x{d}", t), ("values", f"?x?x{slots}x{d}", t),
                 ("scores", f"?x?x{slots}", "f32"), ("positions", f"?x?x{slots}", "i32"),
                 ("band_scores", "?x?x2x?", "f32"), ("band_positions", "?x?x2x?", "i32"),
                 ("threshold", "?x?x3", "f64"), ("counts", "?x?x3", "i32"),
                 ("lengths", "?", "i32")]
        args = ", ".join(f"%{n}: {mem(s, e)}" for n, s, e in state)
        tens = "".join(
            f"  %t_{n} = bufferization.to_tensor %{n} restrict writable : "
            f"{mem(s, e)} to tensor<{s}x{e}>\n" for n, s, e in state)
        ttypes = ", ".join(f"tensor<{s}x{e}>" for _, s, e in state)
        tnames = ", ".join(f"%t_{n}" for n, _, _ in state)
        attrs = [f"k = {int(self.topk)} : i64", f"window = {int(self.window)} : i64"]
        if self.step:
            attrs.append(f"gate = #sparsek.gate<{self.gate}>")
            if self.scale is not None:
                attrs.append(f"scale = {float(self.scale)!r} : f64")
        base = 1 if self.step else 0
        mats = "".join(
            f"  bufferization.materialize_in_destination %r#{i + base} in restrict "
            f"writable %{n} : (tensor<{s}x{e}>, {mem(s, e)}) -> ()\n"
            for i, (n, s, e) in enumerate(state))
        if not self.step:
            tk = f"tensor<?x?x?x{d}x{t}>"
            return (
                f"func.func @{self.entry}(%key: {tk}, %value: {tk}, "
                f"%u: tensor<?x?x?xf32>, %plen: tensor<?xi32>, {args}) {{\n{tens}"
                f"  %r:9 = \"sparsek.decode_prefill\"(%key, %value, %u, %plen, {tnames}) "
                f"{{{', '.join(attrs)}}}\n"
                f"      : ({tk}, {tk}, tensor<?x?x?xf32>, tensor<?xi32>, {ttypes}) -> ({ttypes})\n"
                f"{mats}  return\n}}\n")
        tq = f"tensor<?x?x1x{d}x{t}>"
        out = mem(f"?x?x1x{d}", t)
        return (
            f"func.func @{self.entry}(%q: {tq}, %key: {tq}, %value: {tq}, "
            f"%u: tensor<?x?x1xf32>, %out: {out}, {args}) {{\n{tens}"
            f"  %o = bufferization.to_tensor %out restrict writable : {out} to {tq}\n"
            f"  %r:10 = \"sparsek.decode_step\"(%q, %key, %value, %u, %o, {tnames}) "
            f"{{{', '.join(attrs)}}}\n"
            f"      : ({tq}, {tq}, {tq}, tensor<?x?x1xf32>, {tq}, {ttypes}) -> ({tq}, {ttypes})\n"
            f"  bufferization.materialize_in_destination %r#0 in restrict writable %out"
            f" : ({tq}, {out}) -> ()\n"
            f"{mats}  return\n}}\n")


def find_compiler() -> Optional[str]:
    """``SPARSEK_COMPILE``, a ``sparsek-compile`` beside the package (kernel
    packs and wheels may ship one), or the one on PATH."""
    env = os.environ.get("SPARSEK_COMPILE")
    if env:
        return env if os.access(env, os.X_OK) else None
    here = Path(__file__).resolve().parent
    for cand in (here / "bin" / "sparsek-compile", here.parent.parent / "build" / "bin" / "sparsek-compile"):
        if os.access(cand, os.X_OK):
            return str(cand)
    return shutil.which("sparsek-compile")


def cache_dir() -> Path:
    env = os.environ.get("SPARSEK_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sparsek"


_compiler_ids: Dict[str, str] = {}


def _compiler_id(path: str) -> str:
    """Identifies the compiler's build: a hash of the binary."""
    if path not in _compiler_ids:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _compiler_ids[path] = h.hexdigest()[:16]
    return _compiler_ids[path]


def compile_config(config, out_path: Path, compiler: str) -> None:
    """Builds the configuration's library at ``out_path`` (atomically: a
    temporary file in the same folder, then a rename, so concurrent
    processes never see a partial library)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        src = Path(tmp) / "layer.mlir"
        src.write_text(config.module())
        lib = Path(tmp) / out_path.name
        cmd = [compiler, str(src), "-o", str(lib)]
        if config.target == "cuda":
            cmd.insert(1, "--target=cuda")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SparseKError(f"sparsek-compile failed for {config.key()}:\n{proc.stderr}")
        os.replace(lib, out_path)


def _pack_lookup(config) -> Optional[Path]:
    packs = os.environ.get("SPARSEK_KERNELS")
    if not packs:
        return None
    for folder in packs.split(os.pathsep):
        index = Path(folder) / "index.json"
        if index.is_file():
            entries = json.loads(index.read_text())
            name = entries.get(config.key())
            if name and (Path(folder) / name).is_file():
                return Path(folder) / name
    return None


class Kernel:
    """A loaded layer: its checked C entry point."""

    def __init__(self, path: Path, entry: str = ENTRY, nargs: int = 5):
        self.path = path
        # RTLD_GLOBAL is not needed: the library finds its runtime by rpath.
        self.lib = ctypes.CDLL(str(path))
        self.fn = getattr(self.lib, f"_mlir_ciface_{entry}_checked")
        self.fn.restype = ctypes.c_int32
        self.fn.argtypes = [ctypes.c_void_p] * nargs
        # CUDA libraries reach the runtime (sparsek-c/CudaRuntime.h).
        if hasattr(self.lib, "sparsekCudaBeginCall"):
            lib = self.lib
            lib.mgpuSetDefaultDevice.argtypes = [ctypes.c_int32]
            lib.mgpuSetDefaultDevice.restype = None
            lib.sparsekCudaBeginCall.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                 ctypes.c_uint64]
            lib.sparsekCudaBeginCall.restype = None
            lib.sparsekCudaEndCall.argtypes = []
            lib.sparsekCudaEndCall.restype = ctypes.c_uint64
            lib.sparsekCudaGetStatus.restype = ctypes.c_int32
            lib.sparsekCudaGetStatusName.restype = ctypes.c_char_p
            lib.sparsekCudaResetStatus.restype = None


_kernels: Dict[object, Kernel] = {}
_lock = threading.Lock()
compile_count = 0  # how many compilations this process ran (tests read it)


def kernel(config) -> Kernel:
    """The configuration's kernel: loaded once per process, from a kernel
    pack, the cache, or a fresh compilation."""
    global compile_count
    with _lock:
        k = _kernels.get(config)
        if k is not None:
            return k
        path = _pack_lookup(config)
        if path is None:
            compiler = find_compiler()
            if compiler is None:
                raise SparseKError(
                    f"no kernel for {config.key()}: no sparsek-compile found "
                    "(set SPARSEK_COMPILE or put it on PATH) and no kernel pack "
                    "(set SPARSEK_KERNELS to a folder written by "
                    "`python -m sparsek.pack`)")
            digest = hashlib.sha256(
                (_compiler_id(compiler) + config.module()).encode()).hexdigest()[:24]
            path = cache_dir() / f"{config.key()}-{digest}.so"
            if not path.is_file():
                compile_config(config, path, compiler)
                compile_count += 1
        k = Kernel(path, config.entry, config.nargs)
        _kernels[config] = k
        return k
