"""Calling the compiled layer and its gradients on torch tensors (the
kernels come from ``_compiler``); ``_torch_ops`` registers these as
PyTorch operators."""

from __future__ import annotations

import ctypes

import torch

from . import _compiler
from ._memref import describe

DTYPES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}


def _launch(kern, tensors):
    """Calls the compiled entry point on `tensors` (memref descriptors, in
    the entry's argument order; the first one's device picks the GPU) and
    returns its status."""
    descs = [describe(t) for t in tensors]
    device = tensors[0].device
    if device.type == "cuda":
        # Today's compiled GPU layer runs on a stream of its own and waits
        # for it before returning; the inputs may still be in flight on
        # torch's stream, so wait for that first. (Launching on torch's
        # current stream, graph-capturable, comes with the fused kernels.)
        torch.cuda.current_stream(device).synchronize()
        # The runtime works in the primary context of one device at a time.
        kern.lib.mgpuSetDefaultDevice(ctypes.c_int32(device.index or 0))
    return kern.fn(*[ctypes.addressof(d) for d in descs])


def _run(q, k, v, scores, topk, window, causal, scale, gate):
    """Runs the compiled layer; returns a fresh [B, Hq, N, Dv] tensor."""
    config = _compiler.Config(target=q.device.type, dtype=DTYPES[q.dtype],
                              topk=topk, window=window, causal=causal,
                              scale=scale, gate=gate)
    kern = _compiler.kernel(config)
    out = torch.empty(q.shape[0], q.shape[1], q.shape[2], v.shape[3],
                      dtype=q.dtype, device=q.device)
    if out.numel() == 0:
        return out
    status = _launch(kern, (q, k, v, scores, out))
    if status == 1:
        raise ValueError("sparsek.attention: the kernel refused the shapes (a size rule of "
                         "docs/Semantics.md section 8)")
    if status == 2:
        raise ValueError("sparsek.attention: the kernel refused the output layout")
    if status != 0:
        raise _compiler.SparseKError(f"sparsek.attention: kernel status {status}")
    return out


def _run_backward(q, k, v, scores, out, dout, topk, window, causal, scale, gate):
    """The layer's gradients (docs/Semantics.md section 9): fresh dq, dk, dv
    (dtypes of q, k, v) and dscores (float32)."""
    config = _compiler.Config(target=q.device.type, dtype=DTYPES[q.dtype],
                              topk=topk, window=window, causal=causal,
                              scale=scale, gate=gate, backward=True)
    kern = _compiler.kernel(config)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    du = torch.empty(scores.shape, dtype=torch.float32, device=scores.device)
    if q.numel() == 0 or k.numel() == 0:
        return dq.zero_(), dk.zero_(), dv.zero_(), du.zero_()
    out = out.to(q.dtype)
    dout = dout.to(q.dtype)
    status = _launch(kern, (q, k, v, scores, out, dout, dq, dk, dv, du))
    if status != 0:
        raise _compiler.SparseKError(f"sparsek.attention backward: kernel status {status}")
    return dq, dk, dv, du
