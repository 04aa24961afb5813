"""Generation with constant key/value memory (docs/Semantics.md section 10).

    state = sparsek.decode.allocate(batch, kv_heads, head_dim, topk=256,
                                    window=512, band_capacity=1024,
                                    dtype=torch.bfloat16, device="cuda")
    sparsek.decode.prefill(state, key, value, scores)      # [B, Hkv, P, D]
    out = sparsek.decode.step(state, q, key, value, score) # q [B, Hq, 1, D]

A step gives exactly what ``sparsek.attention`` gives the last query of the
whole history (while the band has not overflowed: ``state.overflowed``),
holding keys and values for the ``topk`` selected and ``window`` recent
tokens only. The state is nine tensors allocated once
(``DecodeState.nbytes`` does not depend on the sequence length) and updated
in place by the compiled kernels, on the GPU without a host round trip or an
allocation outside torch's (a step can be captured in a CUDA graph).
Sequences of a batch may have different lengths (``prefill``'s
``lengths``); every step appends one token to each. On CUDA a step needs
float16 or bfloat16 and a head dim of 64 or 128 (the compiler's decode
kernels; other configurations are refused with a SparseKError); on the CPU
any dtype and head dim.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import torch

from . import _compiler
from ._kernels import DTYPES, _launch

__all__ = ["DecodeState", "allocate", "prefill", "step"]


@dataclasses.dataclass
class DecodeState:
    """The decode state of a batch (layout: docs/Semantics.md section 10)."""

    topk: int
    window: int
    band_capacity: int
    keys: torch.Tensor            # [B, Hkv, k + w, D]
    values: torch.Tensor          # [B, Hkv, k + w, D]
    scores: torch.Tensor          # [B, Hkv, k + w] float32
    positions: torch.Tensor       # [B, Hkv, k + w] int32 (-1: empty)
    band_scores: torch.Tensor     # [B, Hkv, 2, k + Cb + 1] float32
    band_positions: torch.Tensor  # [B, Hkv, 2, k + Cb + 1] int32
    threshold: torch.Tensor       # [B, Hkv, 3] float64: tau, anchor, sum
    counts: torch.Tensor          # [B, Hkv, 3] int32: heap sizes, overflow
    lengths: torch.Tensor         # [B] int32

    def tensors(self):
        return (self.keys, self.values, self.scores, self.positions, self.band_scores,
                self.band_positions, self.threshold, self.counts, self.lengths)

    @property
    def nbytes(self) -> int:
        """The state's size in bytes: independent of how many tokens it saw."""
        return sum(t.numel() * t.element_size() for t in self.tensors())

    @property
    def tau(self) -> torch.Tensor:
        """The current thresholds [B, Hkv] (exact unless overflowed)."""
        return self.threshold[..., 0]

    @property
    def overflowed(self) -> torch.Tensor:
        """[B, Hkv] bool: the band dropped scores, later thresholds are lower
        bounds of the exact ones."""
        return self.counts[..., 2] != 0

    def reset(self) -> "DecodeState":
        """Back to the empty state (no tokens)."""
        self.positions.fill_(-1)
        self.counts.zero_()
        self.lengths.zero_()
        self.threshold.zero_()
        self.threshold[..., 0] = float("-inf")
        return self


def allocate(batch: int, kv_heads: int, head_dim: int, *, topk: int, window: int,
             band_capacity: int = 1024, dtype=torch.float32, device="cpu") -> DecodeState:
    """An empty decode state. ``band_capacity`` scores beyond the selection
    keep the threshold exact; more are dropped (``state.overflowed``)."""
    if topk < 1 or window < 0 or band_capacity < 0:
        raise ValueError(f"sparsek.decode.allocate: need topk >= 1, window >= 0, "
                         f"band_capacity >= 0 (got {topk}, {window}, {band_capacity})")
    if dtype not in DTYPES:
        raise ValueError(f"sparsek.decode.allocate: dtype must be float32, float16 or "
                         f"bfloat16, got {dtype}")
    s, L = topk + window, topk + band_capacity + 1
    kw = dict(device=device)
    st = DecodeState(
        topk, window, band_capacity,
        keys=torch.zeros(batch, kv_heads, s, head_dim, dtype=dtype, **kw),
        values=torch.zeros(batch, kv_heads, s, head_dim, dtype=dtype, **kw),
        scores=torch.zeros(batch, kv_heads, s, dtype=torch.float32, **kw),
        positions=torch.empty(batch, kv_heads, s, dtype=torch.int32, **kw),
        band_scores=torch.zeros(batch, kv_heads, 2, L, dtype=torch.float32, **kw),
        band_positions=torch.zeros(batch, kv_heads, 2, L, dtype=torch.int32, **kw),
        threshold=torch.empty(batch, kv_heads, 3, dtype=torch.float64, **kw),
        counts=torch.empty(batch, kv_heads, 3, dtype=torch.int32, **kw),
        lengths=torch.empty(batch, dtype=torch.int32, **kw))
    return st.reset()


def _config(state: DecodeState, step: bool, scale=None, gate="kv"):
    k = state.keys
    return _compiler.DecodeConfig(
        target=k.device.type, dtype=DTYPES[k.dtype], topk=state.topk, window=state.window,
        head_dim=k.shape[-1], step=step, scale=scale, gate=gate)


_loaded = {}


def _kernel(config):
    kern = _loaded.get(config)
    if kern is None:
        kern = _loaded[config] = _compiler.kernel(config)
    return kern


def _check(status: int, what: str):
    if status == 1:
        raise ValueError(f"sparsek.decode.{what}: the kernel refused the shapes (a size "
                         "rule of docs/Semantics.md sections 8 and 10)")
    if status != 0:
        raise _compiler.SparseKError(f"sparsek.decode.{what}: kernel status {status}")


def _same_device_dtype(state, what, *tensors):
    for t in tensors:
        if t.device != state.keys.device:
            raise ValueError(f"sparsek.decode.{what}: tensors must be on the state's device "
                             f"{state.keys.device}, got {t.device}")


def prefill(state: DecodeState, key, value, scores, lengths: Optional[torch.Tensor] = None):
    """Builds the state of prompts ``key``, ``value`` [B, Hkv, P, D] with
    scores [B, Hkv, P] (sequence b: its first ``lengths[b]`` tokens, default
    all P). Replaces what the state held. The prompts' attention outputs are
    ``sparsek.attention``'s."""
    _same_device_dtype(state, "prefill", key, value, scores)
    b = state.keys.shape[0]
    if lengths is None:
        lengths = torch.full((b,), key.shape[2], dtype=torch.int32, device=key.device)
    lengths = lengths.to(device=key.device, dtype=torch.int32)
    key = key.to(state.keys.dtype)
    value = value.to(state.keys.dtype)
    scores = scores.to(torch.float32)
    status = _launch(_kernel(_config(state, False)),
                     (key, value, scores, lengths) + state.tensors())
    _check(status, "prefill")
    return state


def step(state: DecodeState, q, key, value, score, *, scale: Optional[float] = None,
         gate: str = "kv"):
    """Appends one token to every sequence (``key``, ``value`` [B, Hkv, 1, D],
    ``score`` [B, Hkv, 1]) and returns the attention of ``q`` [B, Hq, 1, D]
    over each sequence's window and selection: [B, Hq, 1, D]."""
    if gate not in _compiler._GATES:
        raise ValueError(f"sparsek.decode.step: gate must be one of {_compiler._GATES}")
    _same_device_dtype(state, "step", q, key, value, score)
    dt = state.keys.dtype
    q, key, value = q.to(dt), key.to(dt), value.to(dt)
    score = score.to(torch.float32)
    out = q.new_empty(q.shape)
    status = _launch(_kernel(_config(state, True, scale, gate)),
                     (q, key, value, score, out) + state.tensors())
    _check(status, "step")
    return out
