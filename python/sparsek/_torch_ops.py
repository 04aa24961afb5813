"""``torch.ops.sparsek.attention``: the layer as a PyTorch operator.

torch >= 2.4: ``torch.library.custom_op`` with a fake kernel, so
``torch.compile(fullgraph=True)`` traces it as one opaque op. Older torch
(Debian's 1.13): ``torch.library.Library("sparsek", "DEF")`` with CPU and
CUDA implementations. Features are detected, never versions parsed.
"""

from __future__ import annotations

import torch

from . import functional as _f

_SCHEMA = ("(Tensor q, Tensor k, Tensor v, Tensor scores, int topk, int window, "
           "bool causal, float scale, str gate) -> Tensor")


def _impl(q, k, v, scores, topk, window, causal, scale, gate):
    return _f._run(q, k, v, scores, int(topk), int(window), bool(causal),
                   None if scale <= 0 else float(scale), str(gate))


if hasattr(torch.library, "custom_op"):
    @torch.library.custom_op("sparsek::attention", mutates_args=())
    def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                   scores: torch.Tensor, topk: int, window: int, causal: bool,
                   scale: float, gate: str) -> torch.Tensor:
        return _impl(q, k, v, scores, topk, window, causal, scale, gate)

    @_attention.register_fake
    def _(q, k, v, scores, topk, window, causal, scale, gate):
        return q.new_empty(q.shape[0], q.shape[1], q.shape[2], v.shape[3])

    attention_op = _attention
else:  # torch < 2.4: one DEF library per namespace per process
    _lib = torch.library.Library("sparsek", "DEF")
    _lib.define("attention" + _SCHEMA)
    for _key in ("CPU", "CUDA"):
        _lib.impl("attention", _impl, _key)

    def attention_op(q, k, v, scores, topk, window, causal, scale, gate):
        return torch.ops.sparsek.attention(q, k, v, scores, topk, window,
                                           causal, scale, gate)
