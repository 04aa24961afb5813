"""``torch.ops.sparsek.attention`` and ``attention_backward``: the layer and
its gradients as PyTorch operators, with autograd. ``attention_lse`` and
``attention_backward_lse`` are training's pair for causal layers: the
forward also returns every row's log-sum-exp, which the backward is given
(its kernel then skips a sweep over every row's keys). ``attention_blocks``
and ``attention_backward_blocks`` are that pair in block form: the forward
also returns its block selection, which the backward is given, so it
selects nothing; ``attention_op`` uses them for causal layers.

torch >= 2.4: ``torch.library.custom_op`` with a fake kernel, so
``torch.compile(fullgraph=True)`` traces it as one opaque op. Older torch
(Debian's 1.13): ``torch.library.Library("sparsek", "DEF")`` with CPU and
CUDA implementations. Features are detected, never versions parsed.
"""

from __future__ import annotations

import torch

from . import _kernels as _f

_SCHEMA = ("(Tensor q, Tensor k, Tensor v, Tensor scores, int topk, int window, "
           "bool causal, float scale, str gate) -> Tensor")
_SCHEMA_BWD = ("(Tensor q, Tensor k, Tensor v, Tensor scores, Tensor out, "
               "Tensor dout, int topk, int window, bool causal, float scale, "
               "str gate) -> (Tensor, Tensor, Tensor, Tensor)")
_SCHEMA_LSE = ("(Tensor q, Tensor k, Tensor v, Tensor scores, int topk, int window, "
               "bool causal, float scale, str gate) -> (Tensor, Tensor)")
_SCHEMA_BWD_LSE = ("(Tensor q, Tensor k, Tensor v, Tensor scores, Tensor out, "
                   "Tensor dout, Tensor lse, int topk, int window, bool causal, "
                   "float scale, str gate) -> (Tensor, Tensor, Tensor, Tensor)")


_SCHEMA_BLOCKS = ("(Tensor q, Tensor k, Tensor v, Tensor scores, int topk, int window, "
                  "float scale, str gate) -> (Tensor, Tensor, Tensor, Tensor, Tensor, "
                  "Tensor, Tensor)")
_SCHEMA_BWD_BLOCKS = ("(Tensor q, Tensor k, Tensor v, Tensor scores, Tensor out, "
                      "Tensor dout, Tensor lse, Tensor kth_score, Tensor kth_index, "
                      "Tensor tau, Tensor union_keys, Tensor union_count, int topk, "
                      "int window, float scale, str gate) -> (Tensor, Tensor, Tensor, "
                      "Tensor)")


def _scale(scale):
    return None if scale <= 0 else float(scale)


def _impl(q, k, v, scores, topk, window, causal, scale, gate):
    return _f._run(q, k, v, scores, int(topk), int(window), bool(causal),
                   _scale(scale), str(gate))


def _impl_bwd(q, k, v, scores, out, dout, topk, window, causal, scale, gate):
    return _f._run_backward(q, k, v, scores, out, dout, int(topk), int(window),
                            bool(causal), _scale(scale), str(gate))


def _impl_lse(q, k, v, scores, topk, window, causal, scale, gate):
    return _f._run(q, k, v, scores, int(topk), int(window), bool(causal),
                   _scale(scale), str(gate), lse=True)


def _impl_bwd_lse(q, k, v, scores, out, dout, lse, topk, window, causal, scale, gate):
    return _f._run_backward(q, k, v, scores, out, dout, int(topk), int(window),
                            bool(causal), _scale(scale), str(gate), lse=lse)


def _impl_blocks(q, k, v, scores, topk, window, scale, gate):
    out, lse, sel = _f._run_blocks(q, k, v, scores, int(topk), int(window),
                                   _scale(scale), str(gate))
    return (out, lse) + tuple(sel)


def _impl_bwd_blocks(q, k, v, scores, out, dout, lse, kth_score, kth_index, tau,
                     union_keys, union_count, topk, window, scale, gate):
    return _f._run_backward(
        q, k, v, scores, out, dout, int(topk), int(window), True, _scale(scale),
        str(gate), lse=lse,
        selection=(kth_score, kth_index, tau, union_keys, union_count))


def _blocks_fake(q, k, v, scores, topk, window, scale, gate):
    """The block form's result shapes (``_kernels._run_blocks``)."""
    _, layout = _f._selection_layout(q, k, topk)
    return ((q.new_empty(q.shape[0], q.shape[1], q.shape[2], v.shape[3]),
             q.new_empty(q.shape[:3], dtype=torch.float32))
            + tuple(q.new_empty(shape, dtype=dtype) for shape, dtype in layout))


if hasattr(torch.library, "custom_op"):
    @torch.library.custom_op("sparsek::attention", mutates_args=())
    def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                   scores: torch.Tensor, topk: int, window: int, causal: bool,
                   scale: float, gate: str) -> torch.Tensor:
        return _impl(q, k, v, scores, topk, window, causal, scale, gate)

    @_attention.register_fake
    def _(q, k, v, scores, topk, window, causal, scale, gate):
        return q.new_empty(q.shape[0], q.shape[1], q.shape[2], v.shape[3])

    @torch.library.custom_op("sparsek::attention_backward", mutates_args=())
    def _attention_backward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                            scores: torch.Tensor, out: torch.Tensor,
                            dout: torch.Tensor, topk: int, window: int,
                            causal: bool, scale: float, gate: str
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return _impl_bwd(q, k, v, scores, out, dout, topk, window, causal, scale, gate)

    @_attention_backward.register_fake
    def _(q, k, v, scores, out, dout, topk, window, causal, scale, gate):
        return (torch.empty_like(q), torch.empty_like(k), torch.empty_like(v),
                torch.empty_like(scores, dtype=torch.float32))

    def _setup_context(ctx, inputs, output):
        q, k, v, scores, topk, window, causal, scale, gate = inputs
        ctx.save_for_backward(q, k, v, scores, output)
        ctx.attrs = (topk, window, causal, scale, gate)

    def _backward(ctx, dout):
        q, k, v, scores, out = ctx.saved_tensors
        dq, dk, dv, du = _attention_backward(q, k, v, scores, out, dout.contiguous(),
                                             *ctx.attrs)
        return dq, dk, dv, du, None, None, None, None, None

    _attention.register_autograd(_backward, setup_context=_setup_context)

    @torch.library.custom_op("sparsek::attention_lse", mutates_args=())
    def _attention_lse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       scores: torch.Tensor, topk: int, window: int, causal: bool,
                       scale: float, gate: str) -> tuple[torch.Tensor, torch.Tensor]:
        return _impl_lse(q, k, v, scores, topk, window, causal, scale, gate)

    @_attention_lse.register_fake
    def _(q, k, v, scores, topk, window, causal, scale, gate):
        return (q.new_empty(q.shape[0], q.shape[1], q.shape[2], v.shape[3]),
                q.new_empty(q.shape[0], q.shape[1], q.shape[2], dtype=torch.float32))

    @torch.library.custom_op("sparsek::attention_backward_lse", mutates_args=())
    def _attention_backward_lse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                scores: torch.Tensor, out: torch.Tensor,
                                dout: torch.Tensor, lse: torch.Tensor, topk: int,
                                window: int, causal: bool, scale: float, gate: str
                                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return _impl_bwd_lse(q, k, v, scores, out, dout, lse, topk, window, causal,
                             scale, gate)

    @_attention_backward_lse.register_fake
    def _(q, k, v, scores, out, dout, lse, topk, window, causal, scale, gate):
        return (torch.empty_like(q), torch.empty_like(k), torch.empty_like(v),
                torch.empty_like(scores, dtype=torch.float32))

    def _setup_context_lse(ctx, inputs, output):
        q, k, v, scores, topk, window, causal, scale, gate = inputs
        out, lse = output
        ctx.mark_non_differentiable(lse)
        ctx.save_for_backward(q, k, v, scores, out, lse)
        ctx.attrs = (topk, window, causal, scale, gate)

    def _backward_lse(ctx, dout, dlse):
        q, k, v, scores, out, lse = ctx.saved_tensors
        dq, dk, dv, du = _attention_backward_lse(q, k, v, scores, out, dout.contiguous(),
                                                 lse, *ctx.attrs)
        return dq, dk, dv, du, None, None, None, None, None

    _attention_lse.register_autograd(_backward_lse, setup_context=_setup_context_lse)

    # Training's pair in block form (causal): the forward also returns its
    # block selection, the backward is given it and selects nothing.
    @torch.library.custom_op("sparsek::attention_blocks", mutates_args=())
    def _attention_blocks(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                          scores: torch.Tensor, topk: int, window: int, scale: float,
                          gate: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                              torch.Tensor, torch.Tensor, torch.Tensor,
                                              torch.Tensor]:
        return _impl_blocks(q, k, v, scores, topk, window, scale, gate)

    _attention_blocks.register_fake(_blocks_fake)

    @torch.library.custom_op("sparsek::attention_backward_blocks", mutates_args=())
    def _attention_backward_blocks(
            q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scores: torch.Tensor,
            out: torch.Tensor, dout: torch.Tensor, lse: torch.Tensor,
            kth_score: torch.Tensor, kth_index: torch.Tensor, tau: torch.Tensor,
            union_keys: torch.Tensor, union_count: torch.Tensor, topk: int, window: int,
            scale: float, gate: str
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return _impl_bwd_blocks(q, k, v, scores, out, dout, lse, kth_score, kth_index,
                                tau, union_keys, union_count, topk, window, scale, gate)

    @_attention_backward_blocks.register_fake
    def _(q, k, v, scores, out, dout, lse, kth_score, kth_index, tau, union_keys,
          union_count, topk, window, scale, gate):
        return (torch.empty_like(q), torch.empty_like(k), torch.empty_like(v),
                torch.empty_like(scores, dtype=torch.float32))

    def _setup_context_blocks(ctx, inputs, output):
        q, k, v, scores, topk, window, scale, gate = inputs
        out, lse = output[0], output[1]
        ctx.mark_non_differentiable(*output[1:])
        ctx.save_for_backward(q, k, v, scores, out, lse, *output[2:])
        ctx.attrs = (topk, window, scale, gate)

    def _backward_blocks(ctx, dout, *unused):
        q, k, v, scores, out, lse, *sel = ctx.saved_tensors
        dq, dk, dv, du = _attention_backward_blocks(q, k, v, scores, out,
                                                    dout.contiguous(), lse, *sel,
                                                    *ctx.attrs)
        return dq, dk, dv, du, None, None, None, None

    _attention_blocks.register_autograd(_backward_blocks,
                                        setup_context=_setup_context_blocks)

    def attention_lse_op(q, k, v, scores, topk, window, causal, scale, gate):
        if causal:
            return _attention_blocks(q, k, v, scores, topk, window, scale, gate)[:2]
        return _attention_lse(q, k, v, scores, topk, window, causal, scale, gate)

    def attention_op(q, k, v, scores, topk, window, causal, scale, gate):
        if causal:
            return _attention_blocks(q, k, v, scores, topk, window, scale, gate)[0]
        return _attention(q, k, v, scores, topk, window, causal, scale, gate)
else:  # torch < 2.4: one DEF library per namespace per process
    _lib = torch.library.Library("sparsek", "DEF")
    _lib.define("attention" + _SCHEMA)
    _lib.define("attention_backward" + _SCHEMA_BWD)
    _lib.define("attention_lse" + _SCHEMA_LSE)
    _lib.define("attention_backward_lse" + _SCHEMA_BWD_LSE)
    _lib.define("attention_blocks" + _SCHEMA_BLOCKS)
    _lib.define("attention_backward_blocks" + _SCHEMA_BWD_BLOCKS)
    for _key in ("CPU", "CUDA"):
        _lib.impl("attention", _impl, _key)
        _lib.impl("attention_backward", _impl_bwd, _key)
        _lib.impl("attention_lse", _impl_lse, _key)
        _lib.impl("attention_backward_lse", _impl_bwd_lse, _key)
        _lib.impl("attention_blocks", _impl_blocks, _key)
        _lib.impl("attention_backward_blocks", _impl_bwd_blocks, _key)

    class _Attention(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, v, scores, topk, window, causal, scale, gate):
            out = torch.ops.sparsek.attention(q, k, v, scores, topk, window,
                                              causal, scale, gate)
            ctx.save_for_backward(q, k, v, scores, out)
            ctx.attrs = (topk, window, causal, scale, gate)
            return out

        @staticmethod
        def backward(ctx, dout):
            q, k, v, scores, out = ctx.saved_tensors
            dq, dk, dv, du = torch.ops.sparsek.attention_backward(
                q, k, v, scores, out, dout.contiguous(), *ctx.attrs)
            return dq, dk, dv, du, None, None, None, None, None

    class _AttentionLse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, v, scores, topk, window, causal, scale, gate):
            out, lse = torch.ops.sparsek.attention_lse(q, k, v, scores, topk, window,
                                                       causal, scale, gate)
            ctx.mark_non_differentiable(lse)
            ctx.save_for_backward(q, k, v, scores, out, lse)
            ctx.attrs = (topk, window, causal, scale, gate)
            return out, lse

        @staticmethod
        def backward(ctx, dout, dlse):
            q, k, v, scores, out, lse = ctx.saved_tensors
            dq, dk, dv, du = torch.ops.sparsek.attention_backward_lse(
                q, k, v, scores, out, dout.contiguous(), lse, *ctx.attrs)
            return dq, dk, dv, du, None, None, None, None, None

    class _AttentionBlocks(torch.autograd.Function):
        """Training's pair in block form (causal): out and lse; the block
        selection is saved for the backward."""

        @staticmethod
        def forward(ctx, q, k, v, scores, topk, window, scale, gate):
            out, lse, *sel = torch.ops.sparsek.attention_blocks(
                q, k, v, scores, topk, window, scale, gate)
            ctx.mark_non_differentiable(lse)
            ctx.save_for_backward(q, k, v, scores, out, lse, *sel)
            ctx.attrs = (topk, window, scale, gate)
            return out, lse

        @staticmethod
        def backward(ctx, dout, dlse):
            q, k, v, scores, out, lse, *sel = ctx.saved_tensors
            dq, dk, dv, du = torch.ops.sparsek.attention_backward_blocks(
                q, k, v, scores, out, dout.contiguous(), lse, *sel, *ctx.attrs)
            return dq, dk, dv, du, None, None, None, None

    def attention_lse_op(q, k, v, scores, topk, window, causal, scale, gate):
        if causal:
            return _AttentionBlocks.apply(q, k, v, scores, topk, window, scale, gate)
        return _AttentionLse.apply(q, k, v, scores, topk, window, causal, scale, gate)

    def attention_op(q, k, v, scores, topk, window, causal, scale, gate):
        if causal:
            return _AttentionBlocks.apply(q, k, v, scores, topk, window, scale, gate)[0]
        return _Attention.apply(q, k, v, scores, topk, window, causal, scale, gate)
