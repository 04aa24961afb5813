"""The shapes and layouts of examples/train on the GPU machine: sparsek's
kernels (bf16, k 64, window 512, gate kv, from a kernel pack) against a
differentiable PyTorch SparseK written with dense [N, N] masks (float32,
the threshold term of the score gradient through sparsek.functional's
SPARSEK mask), forward and every gradient; first the raw function on
contiguous and on transposed (strided) inputs, then SparseKAttention under
bf16 autocast, as the training example calls it. Prints one line per check
and "N passed, N failed".

    SPARSEK_KERNELS=.device/pack PYTHONPATH=python python3 python/tests/train_shapes_check.py
"""

import math
import os
import sys

import torch

import sparsek
from sparsek import nn as sknn
from sparsek.functional import _Mask

results = []
# The CPU (the compiler's JIT) runs it too, slowly: SPARSEK_CHECK_DEVICE=cpu.
DEV = os.environ.get("SPARSEK_CHECK_DEVICE", "cuda")


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name} {detail}", flush=True)


def dense_sparsek(q, k, v, u, topk, window):
    """SparseK (causal, N == M, gate kv) with [N, N] masks, differentiable
    in q, k, v and u (the selection itself carries no gradient)."""
    b, hq, n, d = q.shape
    hkv = k.shape[1]
    g = hq // hkv
    i = torch.arange(n, device=q.device)[:, None]
    j = torch.arange(n, device=q.device)[None, :]
    win = (j <= i) & (j > i - window)
    cand = j <= i - window
    uu = u.double()[:, :, None, :].expand(b, hkv, n, n).masked_fill(~cand, float("-inf"))
    p, _ = _Mask.apply(uu, topk)
    top = uu.detach().topk(min(topk, n), dim=-1).indices
    sel = torch.zeros(b, hkv, n, n, dtype=torch.bool, device=q.device).scatter(-1, top, True) & cand
    m = torch.where(win, torch.ones_like(p), torch.where(sel, p, torch.zeros_like(p)))
    m = m.float().repeat_interleave(g, 1)
    allowed = (win | sel).repeat_interleave(g, 1)
    kk = k.float().repeat_interleave(g, 1)
    vv = v.float().repeat_interleave(g, 1)
    s = (q.float() @ kk.transpose(-1, -2)) / math.sqrt(d) * m
    s = s.masked_fill(~allowed, float("-inf"))
    return (s.softmax(-1) * m) @ vv


def rel(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm().clamp(min=1e-30)).item()


def raw_check(b, n, strided, topk=64, window=512, hq=4, hkv=2, d=64, tol=2e-2):
    g = torch.Generator(device=DEV).manual_seed(n + b)

    def make(h):
        t = torch.randn(b, n, h, d, device=DEV, generator=g).to(torch.bfloat16)
        return t.transpose(1, 2) if strided else t.transpose(1, 2).contiguous()
    q, k, v = make(hq), make(hkv), make(hkv)
    u = torch.randn(b, hkv, n, device=DEV, generator=g) * 2
    dout = torch.randn(b, hq, n, d, device=DEV, generator=g)
    errs = {}
    outs, grads = [], []
    for fn in (lambda *a: sparsek.attention(*a, topk=topk, window=window),
               lambda *a: dense_sparsek(*a, topk, window)):
        # clone() keeps a transposed view's strides (preserve_format).
        leaves = [t.detach().clone().requires_grad_() for t in (q, k, v, u)]
        out = fn(*leaves)
        (out.float() * dout).sum().backward()
        outs.append(out)
        grads.append([t.grad for t in leaves])
    errs["out"] = rel(outs[0], outs[1])
    for name, a, w in zip(("dq", "dk", "dv", "du"), grads[0], grads[1]):
        errs[name] = rel(a, w)
    ok = all(e < tol for e in errs.values())
    check(f"attention bf16 B {b} N {n} {'strided' if strided else 'contiguous'} vs dense torch",
          ok, " ".join(f"{k} {v:.2e}" for k, v in errs.items()) + f" (tolerance {tol})")


def module_check(b, n, topk=64, window=512, hidden=256, tol=3e-2):
    torch.manual_seed(n)
    m = sknn.SparseKAttention(hidden, 4, 2, topk=topk, window=window).to(DEV)
    with torch.no_grad():  # scores spread like a trained scorer's
        m.scorer.weight.normal_(0, 1 / math.sqrt(hidden))
    x = torch.randn(b, n, hidden, device=DEV)
    dy = torch.randn(b, n, hidden, device=DEV)
    res = []
    real = sknn.F_sk.attention
    for fn in (real, lambda q, k, v, u, topk, window, gate: dense_sparsek(q, k, v, u, topk, window)):
        sknn.F_sk.attention = fn
        try:
            m.zero_grad(set_to_none=True)
            xx = x.clone().requires_grad_()
            with torch.autocast(DEV, dtype=torch.bfloat16):
                y = m(xx)
            (y.float() * dy).sum().backward()
            res.append([y.detach(), xx.grad] + [p.grad.clone() for p in m.parameters()])
        finally:
            sknn.F_sk.attention = real
    names = ["y", "dx"] + [name for name, _ in m.named_parameters()]
    errs = {nm: rel(a, w) for nm, a, w in zip(names, res[0], res[1])}
    # The scorer's gradients sum the score gradient over positions, which
    # nearly cancels (the threshold term subtracts the fractional keys'
    # mean): looser for the weight, reported only for the bias.
    ok = all(e < (10 * tol if nm == "scorer.weight" else tol)
             for nm, e in errs.items() if nm != "scorer.bias")
    check(f"SparseKAttention autocast bf16 B {b} N {n} vs dense torch", ok,
          " ".join(f"{k} {v:.2e}" for k, v in errs.items()) + f" (tolerance {tol})")


def main():
    for b, n in ((8, 64), (1024, 64), (4, 700), (2, 1024), (1, 4096)):
        for strided in (False, True):
            try:
                raw_check(b, n, strided)
            except Exception as e:  # noqa: BLE001
                check(f"attention B {b} N {n} strided {strided}", False, repr(e)[:300])
    for b, n in ((8, 64), (1024, 64), (2, 1024), (1, 4096)):
        try:
            module_check(b, n)
        except Exception as e:  # noqa: BLE001
            check(f"module B {b} N {n}", False, repr(e)[:300])
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
