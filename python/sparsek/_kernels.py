"""Calling the compiled layer and its gradients on torch tensors (the
kernels come from ``_compiler``); ``_torch_ops`` registers these as
PyTorch operators."""

from __future__ import annotations

import ctypes

import torch

from . import _compiler
from ._memref import describe

DTYPES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}


_loaded = {}  # (device type, dtype, attributes, backward) -> Kernel


def _kernel(q, topk, window, causal, scale, gate, backward, lse=False,
            deterministic=False, blocks=0):
    """The loaded kernel of a call's configuration (a dict lookup after the
    first call: building a Config per call costs microseconds)."""
    key = (q.device.type, q.dtype, topk, window, causal, scale, gate, backward, lse,
           deterministic, blocks)
    kern = _loaded.get(key)
    if kern is None:
        kern = _compiler.kernel(_compiler.Config(
            target=q.device.type, dtype=DTYPES[q.dtype], topk=topk, window=window,
            causal=causal, scale=scale, gate=gate, backward=backward, lse=lse,
            deterministic=deterministic, blocks=blocks))
        _loaded[key] = kern
    return kern


# torch's current stream of a device as an integer, without building a
# torch.cuda.Stream (3 us a call on the GPU machine); feature-detected.
_raw_stream = getattr(torch._C, "_cuda_getCurrentRawStream", None)

_workspace_bytes = {}  # (kernel path, shapes) -> scratch bytes of a CUDA call


def _launch(kern, tensors):
    """Calls the compiled entry point on `tensors` (memref descriptors, in
    the entry's argument order; the first one's device picks the GPU) and
    returns its status.

    On CUDA the call runs on torch's current stream, asynchronously like any
    torch kernel, with its scratch in a workspace from torch's allocator
    (sparsekCudaBeginCall, include/sparsek-c/CudaRuntime.h): nothing
    synchronizes or allocates outside torch, so CUDA graphs capture it. The
    workspace size of a shape is learnt on its first call, whose scratch
    comes from the driver's stream-ordered pool instead."""
    descs = [describe(t) for t in tensors]
    device = tensors[0].device
    if device.type != "cuda":
        return kern.fn(*[ctypes.addressof(d) for d in descs])
    lib = kern.lib
    # The runtime works in the primary context of one device at a time.
    lib.mgpuSetDefaultDevice(device.index or 0)
    stream = (_raw_stream(device.index) if _raw_stream is not None
              else torch.cuda.current_stream(device).cuda_stream)
    key = (kern.path, tuple(t.shape for t in tensors))
    need = _workspace_bytes.get(key)
    ws = torch.empty(need, dtype=torch.uint8, device=device) if need else None
    lib.sparsekCudaBeginCall(stream, ws.data_ptr() if ws is not None else None,
                             need or 0)
    try:
        status = kern.fn(*[ctypes.addressof(d) for d in descs])
    finally:
        used = lib.sparsekCudaEndCall()
    if need is None or used > need:
        if len(_workspace_bytes) >= 4096:  # shapes that keep changing
            _workspace_bytes.clear()
        _workspace_bytes[key] = used
    if lib.sparsekCudaGetStatus():
        name = lib.sparsekCudaGetStatusName().decode()
        lib.sparsekCudaResetStatus()
        raise _compiler.SparseKError(f"sparsek: a CUDA call failed ({name}); see stderr")
    # `ws` is freed here on the stream that uses it: torch's allocator hands
    # it out again only to work ordered after this call's.
    return status


def _run(q, k, v, scores, topk, window, causal, scale, gate, lse=False):
    """Runs the compiled layer; returns a fresh [B, Hq, N, Dv] tensor, and
    with `lse` (causal) also every row's log-sum-exp, [B, Hq, N] float32
    (-inf where a query attends to nothing)."""
    kern = _kernel(q, topk, window, causal, scale, gate, False, lse)
    out = q.new_empty((q.shape[0], q.shape[1], q.shape[2], v.shape[3]))
    lse_t = (torch.empty(q.shape[:3], dtype=torch.float32, device=q.device)
             if lse else None)
    if out.numel() == 0:
        if lse:
            return out, lse_t.fill_(float("-inf"))
        return out
    status = _launch(kern, (q, k, v, scores, out) + ((lse_t,) if lse else ()))
    if status == 1:
        raise ValueError("sparsek.attention: the kernel refused the shapes (a size rule of "
                         "docs/Semantics.md section 8)")
    if status == 2:
        raise ValueError("sparsek.attention: the kernel refused the output layout")
    if status != 0:
        raise _compiler.SparseKError(f"sparsek.attention: kernel status {status}")
    return (out, lse_t) if lse else out


def _run_backward(q, k, v, scores, out, dout, topk, window, causal, scale, gate,
                  lse=None, selection=None):
    """The layer's gradients (docs/Semantics.md section 9): fresh dq, dk, dv
    (dtypes of q, k, v) and dscores (float32). `lse`: the forward's
    log-sum-exp (from ``_run(..., lse=True)``; causal), which spares the
    kernel a sweep over every row's keys; `selection` (with lse): the
    forward's block selection (from ``_run_blocks``), which spares it the
    selection (sparsek.block_attention_backward). Under
    ``torch.use_deterministic_algorithms(True)`` a CUDA call takes the
    deterministic backward (bitwise the same gradients run to run; the CPU
    lowering always is), which selects again (the block form has no
    deterministic variant)."""
    det = q.device.type == "cuda" and torch.are_deterministic_algorithms_enabled()
    if det:
        selection = None
    blocks = (_compiler.block_size_for(q.shape[1], k.shape[1])
              if selection is not None else 0)
    kern = _kernel(q, topk, window, causal, scale, gate, True, lse is not None, det,
                   blocks)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    du = torch.empty(scores.shape, dtype=torch.float32, device=scores.device)
    if q.numel() == 0 or k.numel() == 0:
        return dq.zero_(), dk.zero_(), dv.zero_(), du.zero_()
    out = out.to(q.dtype)
    dout = dout.to(q.dtype)
    args = (q, k, v, scores, out, dout)
    if lse is not None:
        args += (lse.to(torch.float32),)
    if selection is not None:
        args += tuple(selection)
    status = _launch(kern, args + (dq, dk, dv, du))
    if status != 0:
        raise _compiler.SparseKError(f"sparsek.attention backward: kernel status {status}")
    return dq, dk, dv, du


def _selection_layout(q, k, topk):
    """Training's pair in block form for these queries and keys: the query
    block (``_compiler.block_size_for``) and the (shape, dtype) of each of
    the block selection's tensors (sparsek.block_select's results:
    kth_score, kth_index, tau, union_keys, union_count)."""
    blocks = _compiler.block_size_for(q.shape[1], k.shape[1])
    b, hkv, n = q.shape[0], k.shape[1], q.shape[2]
    nb = -(-n // blocks)
    f32, i32 = torch.float32, torch.int32
    return blocks, [((b, hkv, n), f32), ((b, hkv, n), i32), ((b, hkv, n), f32),
                    ((b, hkv, nb, topk + blocks - 1), i32), ((b, hkv, nb), i32)]


def _run_blocks(q, k, v, scores, topk, window, scale, gate):
    """Training's forward in block form (causal): out, every row's
    log-sum-exp and the block selection (``_selection_layout``), which
    ``_run_backward(..., selection=)`` is given instead of selecting
    again."""
    blocks, layout = _selection_layout(q, k, topk)
    kern = _kernel(q, topk, window, True, scale, gate, False, True, blocks=blocks)
    out = q.new_empty((q.shape[0], q.shape[1], q.shape[2], v.shape[3]))
    lse = torch.empty(q.shape[:3], dtype=torch.float32, device=q.device)
    sel = tuple(torch.empty(shape, dtype=dtype, device=q.device)
                for shape, dtype in layout)
    if out.numel() == 0 or sel[0].numel() == 0:
        # Nothing to attend or select: the backward given this returns zeros
        # (it never reads the selection of an empty layer).
        for t in sel:
            t.zero_()
        return out, lse.fill_(float("-inf")), sel
    status = _launch(kern, (q, k, v, scores, out, lse) + sel)
    if status != 0:
        raise _compiler.SparseKError(f"sparsek.attention: kernel status {status}")
    return out, lse, sel
