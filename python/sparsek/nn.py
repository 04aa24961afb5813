"""``sparsek.nn.SparseKAttention``: a Llama-style attention block whose
attention is SparseK, with its scoring network.

The block: q, k, v and output projections, rotary positions on q and k,
grouped-query heads, and the scorer ``Linear(hidden_size, num_kv_heads)``
that gives every token one score per KV head (``sparsek.score``, plus an
optional position slope that lets later tokens outscore earlier ones).
Each query attends to its ``window`` most recent tokens and the ``topk``
best-scoring earlier ones (docs/Semantics.md). The block trains: gradients
reach the projections and, through the SPARSEK mask, the scorer.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from . import functional as F_sk


def rotary(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """Rotary position embedding (rotate-half form, as Llama) of
    x [B, H, N, D] at positions [N] or [B, N]."""
    d = x.shape[-1]
    half = d // 2
    inv = 1.0 / (theta ** (torch.arange(0, half, device=x.device, dtype=torch.float32) / half))
    pos = positions.to(torch.float32)
    ang = pos[..., None] * inv  # [..., N, half]
    if ang.dim() == 2:
        ang = ang[None, None]
    else:
        ang = ang[:, None]
    cos, sin = ang.cos(), ang.sin()
    xf = x.float()
    x1, x2 = xf[..., :half], xf[..., half:2 * half]
    rot = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)
    if d % 2:
        rot = torch.cat([rot, xf[..., 2 * half:]], -1)
    return rot.to(x.dtype)


class SparseKAttention(nn.Module):
    """x [B, N, hidden_size] -> [B, N, hidden_size] (causal)."""

    def __init__(self, hidden_size: int, num_heads: int, num_kv_heads: Optional[int] = None,
                 head_dim: Optional[int] = None, *, topk: int, window: int,
                 gate: str = "kv", slope: float = 0.0, rope_theta: float = 10000.0,
                 bias: bool = False):
        super().__init__()
        num_kv_heads = num_kv_heads or num_heads
        if num_heads % num_kv_heads:
            raise ValueError(f"SparseKAttention: num_heads = {num_heads} must be a multiple "
                             f"of num_kv_heads = {num_kv_heads}")
        head_dim = head_dim or hidden_size // num_heads
        self.num_heads, self.num_kv_heads, self.head_dim = num_heads, num_kv_heads, head_dim
        self.topk, self.window, self.gate = topk, window, gate
        self.rope_theta = rope_theta
        self.q_proj = nn.Linear(hidden_size, num_heads * head_dim, bias=bias)
        self.k_proj = nn.Linear(hidden_size, num_kv_heads * head_dim, bias=bias)
        self.v_proj = nn.Linear(hidden_size, num_kv_heads * head_dim, bias=bias)
        self.o_proj = nn.Linear(num_heads * head_dim, hidden_size, bias=bias)
        # One score per token and KV head; initialised small so that the
        # block starts close to sliding-window + most-recent behaviour.
        self.scorer = nn.Linear(hidden_size, num_kv_heads, bias=True)
        nn.init.normal_(self.scorer.weight, std=0.02 / math.sqrt(hidden_size))
        nn.init.zeros_(self.scorer.bias)
        self.register_buffer("slope", torch.tensor(float(slope)), persistent=True)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """The KV scores u [B, Hkv, N] of x [B, N, hidden]."""
        return F_sk.score(x, self.scorer.weight, self.scorer.bias, float(self.slope))

    def forward(self, x: torch.Tensor, positions: Optional[torch.Tensor] = None) -> torch.Tensor:
        b, n, _ = x.shape
        if positions is None:
            positions = torch.arange(n, device=x.device)
        q = self.q_proj(x).view(b, n, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q, k = rotary(q, positions, self.rope_theta), rotary(k, positions, self.rope_theta)
        out = F_sk.attention(q, k, v, self.scores(x), topk=self.topk, window=self.window,
                             gate=self.gate)
        return self.o_proj(out.transpose(1, 2).reshape(b, n, self.num_heads * self.head_dim))
