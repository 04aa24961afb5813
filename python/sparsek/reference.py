"""A plain PyTorch SparseK in float64, written from docs/Semantics.md with
explicit loops and masks: slow (O(N M) per head) and meant for checking the
compiled kernels on small shapes, never for use in a model."""

from __future__ import annotations

import math

import torch

from .functional import _sparsek_tau


def _weight(u, tau):
    # clip(u - tau, 0, 1); 1 while tau = -inf and for u = +inf.
    if tau == -math.inf or u == math.inf:
        return 1.0
    return min(max(u - tau, 0.0), 1.0)


def attention(q, k, v, scores, *, topk, window, causal=True, scale=None, gate="kv",
              return_lse=False):
    """The layer's output (float64); with ``return_lse`` also every query's
    log-sum-exp of its logits ([B, Hq, N], -inf where it attends to
    nothing)."""
    q, k, v, u = (t.detach().double().cpu() for t in (q, k, v, scores))
    b, hq, n, d = q.shape
    hkv, m, dv = k.shape[1], k.shape[2], v.shape[3]
    group = hq // hkv if hkv else 1
    s = 1.0 / math.sqrt(d) if scale is None else float(scale)
    out = torch.zeros(b, hq, n, dv, dtype=torch.float64)
    lse = torch.full((b, hq, n), -math.inf, dtype=torch.float64)
    for bi in range(b):
        for g in range(hkv):
            row = u[bi, g]
            for i in range(n):
                pos = i + m - n if causal else m - 1
                w = window if causal else 0
                cands = list(range(0, max(0, min(m, pos - w + 1))))
                tau = _sparsek_tau(row[cands][None], topk)[0].item() if cands else -math.inf
                sel = sorted(cands, key=lambda j: (row[j].item(), j), reverse=True)[:topk]
                keys = [(j, 1.0) for j in range(max(0, pos - w + 1), pos + 1)] if w > 0 else []
                keys += [(j, _weight(row[j].item(), tau)) for j in sel]
                for h in range(g * group, (g + 1) * group):
                    logits, vals = [], []
                    for j, mw in keys:
                        l = s * float(q[bi, h, i] @ k[bi, g, j])
                        if gate == "kv":
                            l *= mw
                        elif gate == "logit":
                            l = l + (math.log(mw) if mw > 0 else -math.inf)
                        vw = mw if gate in ("kv", "v") else 1.0
                        logits.append(l)
                        vals.append(vw * v[bi, g, j])
                    if not logits or max(logits) == -math.inf:
                        continue
                    mx = max(logits)
                    p = [math.exp(l - mx) for l in logits]
                    den = sum(p)
                    out[bi, h, i] = sum(pj * vj for pj, vj in zip(p, vals)) / den
                    lse[bi, h, i] = mx + math.log(den)
    return (out, lse) if return_lse else out
