"""``sparsek.attention``, ``sparsek.mask`` and ``sparsek.score``: the
functional API, shaped like ``torch.nn.functional.scaled_dot_product_attention``.

Conventions users trip over:
- causal alignment is bottom-right: query ``i`` of ``N`` sits at position
  ``i + M - N`` of the ``M`` keys (like flash-attn; SDPA's ``is_causal`` is
  top-left);
- ``window`` counts the query's own position: ``window = w`` is flash-attn's
  ``window_size=(w - 1, 0)`` and Hugging Face's ``sliding_window = w``.
"""

from __future__ import annotations

import math
from typing import Optional

import torch

from . import _kernels, _torch_ops
from ._kernels import DTYPES as _DTYPES
_GATES = ("kv", "v", "logit", "none")


def _check(q, k, v, scores, topk, window, causal, scale, gate):
    """Raises ValueError/TypeError for anything the kernel would refuse,
    before any kernel runs."""
    for name, t in (("q", q), ("k", k), ("v", v), ("scores", scores)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"sparsek.attention: '{name}' must be a torch.Tensor, got {type(t).__name__}")
    for name, t, rank in (("q", q, 4), ("k", k, 4), ("v", v, 4), ("scores", scores, 3)):
        if t.dim() != rank:
            raise ValueError(f"sparsek.attention: '{name}' must have rank {rank}, got shape {tuple(t.shape)}")
    if q.dtype not in _DTYPES:
        raise TypeError(f"sparsek.attention: 'q' must be float32, float16 or bfloat16, got {q.dtype}")
    if k.dtype != q.dtype or v.dtype != q.dtype:
        raise TypeError(f"sparsek.attention: 'q', 'k' and 'v' must have one dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if scores.dtype != torch.float32:
        raise TypeError(f"sparsek.attention: 'scores' must be float32, got {scores.dtype}")
    dev = q.device
    if k.device != dev or v.device != dev or scores.device != dev:
        devices = {str(t.device) for t in (q, k, v, scores)}
        raise ValueError(f"sparsek.attention: all tensors must be on one device, got {sorted(devices)}")
    b, hq, n, d = q.shape
    bk, hkv, m, dk = k.shape
    if (bk, hkv, m) != tuple(v.shape[:3]) or dk != d or k.shape[0] != b:
        raise ValueError(f"sparsek.attention: shapes do not fit: q {tuple(q.shape)} [B, Hq, N, D], "
                         f"k {tuple(k.shape)} [B, Hkv, M, D], v {tuple(v.shape)} [B, Hkv, M, Dv]")
    if tuple(scores.shape) != (b, hkv, m):
        raise ValueError(f"sparsek.attention: 'scores' must be [B, Hkv, M] = {(b, hkv, m)}, got {tuple(scores.shape)}")
    if d < 1 or v.shape[3] < 1:
        raise ValueError("sparsek.attention: head dims D and Dv must be >= 1")
    if hkv == 0 and hq != 0 or hkv and hq % hkv:
        raise ValueError(f"sparsek.attention: query heads Hq = {hq} must be a multiple of KV heads Hkv = {hkv}")
    if n > m:
        raise ValueError(f"sparsek.attention: query length N = {n} exceeds KV length M = {m}")
    if not isinstance(topk, int) or isinstance(topk, bool) or topk < 1:
        raise ValueError(f"sparsek.attention: topk must be an int >= 1, got {topk!r}")
    if not isinstance(window, int) or isinstance(window, bool) or window < 0:
        raise ValueError(f"sparsek.attention: window must be an int >= 0, got {window!r}")
    if not causal and window != 0:
        raise ValueError("sparsek.attention: a non-causal layer needs window = 0")
    if scale is not None and not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"sparsek.attention: scale must be a finite number > 0, got {scale!r}")
    if gate not in _GATES:
        raise ValueError(f"sparsek.attention: gate must be one of {_GATES}, got {gate!r}")
    if q.device.type not in ("cpu", "cuda"):
        raise ValueError(f"sparsek.attention: device {q.device} is not supported (cpu, cuda)")


def attention(q, k, v, scores, *, topk: int, window: int, causal: bool = True,
              scale: Optional[float] = None, gate: str = "kv",
              return_lse: bool = False):
    """SparseK attention (docs/Semantics.md section 6).

    q [B, Hq, N, D], k [B, Hkv, M, D], v [B, Hkv, M, Dv] (float32, float16
    or bfloat16, one dtype), scores [B, Hkv, M] (float32): each query
    attends to its ``window`` most recent keys (its own position included)
    and the ``topk`` best-scoring earlier keys, weighted by the SPARSEK
    gate ``gate`` (``kv``, ``v``, ``logit``, ``none``). Returns
    [B, Hq, N, Dv]. Inputs may be strided views; no copy is made.
    Differentiable in q, k, v and scores (which keys are selected gets no
    gradient; the threshold's dependence on the scores does).

    ``return_lse=True`` (causal layers) also returns every query's
    log-sum-exp of its logits, [B, Hq, N] float32 (natural log, ``-inf``
    where a query attends to nothing), as FlashAttention's ``softmax_lse``;
    it gets no gradient. Causal training saves it for the backward whether
    or not it is returned (the backward kernel then skips a sweep over
    every row's keys).
    """
    _check(q, k, v, scores, topk, window, causal, scale, gate)
    if return_lse:
        if not causal:
            raise ValueError("sparsek.attention: return_lse needs a causal layer")
        if _direct(q, k, v, scores):
            return _kernels._run(q, k, v, scores, topk, window, causal, scale, gate,
                                 lse=True)
        return _torch_ops.attention_lse_op(q, k, v, scores, topk, window, causal,
                                           -1.0 if scale is None else float(scale),
                                           gate)
    if _direct(q, k, v, scores):
        return _kernels._run(q, k, v, scores, topk, window, causal, scale, gate)
    return _torch_ops.attention_op(q, k, v, scores, topk, window, causal,
                                   -1.0 if scale is None else float(scale), gate)


_compiling = getattr(getattr(torch, "compiler", None), "is_compiling", None)
_dispatch_modes = getattr(torch._C, "_len_torch_dispatch_stack", None)
_function_modes = getattr(torch._C, "_is_torch_function_mode_enabled", None)
_functorch = getattr(torch._C, "_are_functorch_transforms_active", None)


def _direct(q, k, v, scores) -> bool:
    """Whether a call may run the kernels without going through
    ``torch.ops.sparsek.attention``: nothing needs a gradient, the tensors are
    plain tensors, and no tracer (torch.compile), mode or functorch
    transform is watching. The operator's dispatch (autograd wrapper, custom
    op machinery) costs about 27 us a call on the GPU machine; the result is
    the same kernel's."""
    if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or
                                    v.requires_grad or scores.requires_grad):
        return False
    T = torch.Tensor
    if type(q) is not T or type(k) is not T or type(v) is not T or type(scores) is not T:
        return False
    if _compiling is not None and _compiling():
        return False
    if _dispatch_modes is not None and _dispatch_modes():
        return False
    if _function_modes is not None and _function_modes():
        return False
    return not (_functorch is not None and _functorch())


def _sparsek_tau(z: torch.Tensor, k: int) -> torch.Tensor:
    """tau(z, k) along the last dim (docs/Semantics.md section 2), in float64:
    bisection on f(t) = sum clip(z - t, 0, 1) (O(n) per step), then the exact
    solution on the linear piece it lands in. -inf where at most k entries
    are above -inf."""
    zd = z.detach().double()
    if zd.shape[-1] == 0:
        return torch.full(zd.shape[:-1], -math.inf, dtype=torch.float64, device=z.device)
    above = zd > -math.inf
    count = above.sum(-1)
    finite_z = torch.where(torch.isfinite(zd), zd, torch.zeros_like(zd))
    big = torch.finfo(torch.float64).max
    lo = torch.where(above & torch.isfinite(zd), zd, torch.full_like(zd, big)).amin(-1) - 1
    hi = torch.where(torch.isfinite(zd), zd, torch.full_like(zd, -big)).amax(-1)
    lo = torch.minimum(lo, hi - 1)

    def f(t):
        return (zd - t[..., None]).clamp(0, 1).nan_to_num(0).sum(-1)

    for _ in range(200):  # f(lo) > k >= f(hi)
        mid = 0.5 * (lo + hi)
        gt = f(mid) > k
        lo = torch.where(gt, mid, lo)
        hi = torch.where(gt, hi, mid)
    # The piece left of hi: capped z - 1 >= hi, fractional hi <= z < hi + 1.
    capped = (zd - 1 >= hi[..., None]).sum(-1).double()
    frac = (zd >= hi[..., None]) & (zd - 1 < hi[..., None])
    nfrac = frac.sum(-1).double()
    sfrac = (finite_z * frac).sum(-1)
    solved = (capped + sfrac - k) / nfrac.clamp(min=1)
    # hi may sit an ulp below tau (rounding of f): the solution may exceed it.
    t = torch.where(nfrac > 0, torch.maximum(solved, lo), hi)
    return torch.where(count <= k, torch.full_like(t, -math.inf), t)


class _Mask(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, k):
        tau = _sparsek_tau(z, k)
        p = torch.where(torch.isinf(tau)[..., None] & (tau < 0)[..., None],
                        torch.ones_like(z, dtype=torch.float64),
                        (z.double() - tau[..., None]).clamp(0, 1))
        p = p.to(z.dtype)
        ctx.save_for_backward(p)
        return p, tau.to(z.dtype)

    @staticmethod
    def backward(ctx, gp, gtau):
        (p,) = ctx.saved_tensors
        frac = (p > 0) & (p < 1)
        cnt = frac.sum(-1, keepdim=True).clamp(min=1)
        mean = (gp * frac).sum(-1, keepdim=True) / cnt
        return torch.where(frac, gp - mean, torch.zeros_like(gp)), None


def mask(z: torch.Tensor, k: int):
    """SPARSEK(z, k) along the last dim (docs/Semantics.md section 2): the soft
    top-k mask ``p`` and the threshold ``tau``, differentiable in ``z``
    (entries clipped at 0 or 1 get no gradient)."""
    if not isinstance(z, torch.Tensor) or not z.is_floating_point() or z.dim() < 1:
        raise TypeError("sparsek.mask: z must be a floating-point tensor of rank >= 1")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"sparsek.mask: k must be an int >= 1, got {k!r}")
    return _Mask.apply(z, k)


def score(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None,
          slope: float = 0.0) -> torch.Tensor:
    """KV scores (docs/Semantics.md section 1): x [B, M, C], weight [Hkv, C],
    bias [Hkv] -> u [B, Hkv, M] (float32) = x . weight + bias + slope * j."""
    if x.dim() != 3 or weight.dim() != 2 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"sparsek.score: x must be [B, M, C] and weight [Hkv, C], got "
                         f"{tuple(x.shape)} and {tuple(weight.shape)}")
    if not math.isfinite(slope):
        raise ValueError("sparsek.score: slope must be finite")
    u = torch.einsum("bmc,hc->bhm", x.float(), weight.float())
    if bias is not None:
        if tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(f"sparsek.score: bias must be [Hkv] = [{weight.shape[0]}]")
        u = u + bias.float()[None, :, None]
    if slope:
        u = u + slope * torch.arange(x.shape[1], device=x.device, dtype=torch.float32)
    return u
