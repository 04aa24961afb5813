"""sparsek.nn.SparseKAttention: the block's forward against the same
computation with the float64 reference attention."""

import pytest
import torch

import sparsek
from sparsek import reference
from sparsek.nn import SparseKAttention, rotary


def test_block_matches_its_parts():
    torch.manual_seed(0)
    blk = SparseKAttention(32, num_heads=4, num_kv_heads=2, topk=3, window=4,
                           gate="v", slope=0.05).eval()
    with torch.no_grad():
        blk.scorer.weight.normal_()  # scores that matter
        x = torch.randn(2, 13, 32)
        out = blk(x)
        b, n = 2, 13
        q = blk.q_proj(x).view(b, n, 4, 8).transpose(1, 2)
        k = blk.k_proj(x).view(b, n, 2, 8).transpose(1, 2)
        v = blk.v_proj(x).view(b, n, 2, 8).transpose(1, 2)
        pos = torch.arange(n)
        q, k = rotary(q, pos, 10000.0), rotary(k, pos, 10000.0)
        u = sparsek.score(x, blk.scorer.weight, blk.scorer.bias, 0.05)
        att = reference.attention(q, k, v, u, topk=3, window=4, gate="v").float()
        want = blk.o_proj(att.transpose(1, 2).reshape(b, n, 32))
    assert out.shape == (2, 13, 32)
    assert torch.allclose(out, want, atol=1e-5, rtol=1e-4)


def test_rotary_preserves_norms_and_relative_positions():
    x = torch.randn(1, 2, 5, 8)
    r = rotary(x, torch.arange(5), 10000.0)
    assert torch.allclose(r.norm(dim=-1), x.norm(dim=-1), atol=1e-5)
    # q.k depends on positions only through their difference.
    q, k = torch.randn(8), torch.randn(8)
    def dot(pq, pk):
        a = rotary(q.view(1, 1, 1, 8), torch.tensor([pq]), 100.0)
        b = rotary(k.view(1, 1, 1, 8), torch.tensor([pk]), 100.0)
        return (a * b).sum().item()
    assert abs(dot(3, 1) - dot(7, 5)) < 1e-4


def test_bad_heads_raise():
    with pytest.raises(ValueError, match="multiple of num_kv_heads"):
        SparseKAttention(32, num_heads=3, num_kv_heads=2, topk=2, window=1)


def test_gradients_reach_the_scorer():
    torch.manual_seed(1)
    blk = SparseKAttention(16, num_heads=2, topk=2, window=2, gate="kv")
    with torch.no_grad():
        blk.scorer.weight.normal_(std=0.3)
    blk(torch.randn(1, 9, 16)).pow(2).sum().backward()
    assert blk.scorer.weight.grad is not None
    assert blk.scorer.weight.grad.abs().sum() > 0
    assert blk.q_proj.weight.grad.abs().sum() > 0
