"""sparsek.hf's constant-memory cache (SparseKCache, SparseKLayer) on the
CPU without transformers: the attention function fed through the cache's
layers (prompt prefill, then token steps and a multi-token chunk) gives
what it gives over the model's full growing key/value cache, for a position
slope and two gates; the state's size does not grow; misuse raises. The
transformers-facing run (model.generate with the cache, flat memory) is in
device_check.py."""

import types

import pytest
import torch
from torch import nn

import sparsek.hf as skhf


class Attn(nn.Module):
    """What sparsek.hf.apply leaves on a transformers attention module."""

    def __init__(self, topk, window, gate, slope):
        super().__init__()
        self.layer_idx = 0
        self._sparsek = {"topk": topk, "window": window, "gate": gate}
        self.register_buffer("sparsek_slope", torch.tensor(float(slope)))
        self._sparsek_past_scores = None
        self._sparsek_cache = None


def model_of(attn):
    return types.SimpleNamespace(model=types.SimpleNamespace(
        layers=[types.SimpleNamespace(self_attn=attn)]))


def tokens(b, hq, hkv, n, d, seed):
    g = torch.Generator().manual_seed(seed)
    q = torch.rand(b, hq, n, d, generator=g) * 2 - 1
    k = torch.rand(b, hkv, n, d, generator=g) * 2 - 1
    v = torch.rand(b, hkv, n, d, generator=g) * 2 - 1
    s = torch.rand(b, n, hkv, generator=g) * 4 - 2
    return q, k, v, s


@pytest.mark.parametrize("gate,slope", [("kv", 0.0), ("v", 0.05)])
def test_cache_matches_the_growing_cache(gate, slope):
    b, hq, hkv, d, topk, window = 2, 4, 2, 16, 3, 4
    chunks = [9, 1, 1, 3, 1, 1, 1, 1, 1, 1, 1]  # prompt, steps, a chunk, steps
    n = sum(chunks)
    q, k, v, s = tokens(b, hq, hkv, n, d, seed=5)
    dense, cached = Attn(topk, window, gate, slope), Attn(topk, window, gate, slope)
    cache = skhf.SparseKCache(model_of(cached), band_capacity=64)
    sizes, at = [], 0
    for c in chunks:
        sl = slice(at, at + c)
        # The model's own cache: every key so far.
        dense._sparsek_new_scores = s[:, sl]
        want = skhf._attention(dense, q[:, :, sl], k[:, :, :at + c], v[:, :, :at + c], None)[0]
        # The SparseKCache: update hands back this call's keys only.
        kk, vv = cache.update(k[:, :, sl], v[:, :, sl], 0)
        assert kk.shape[2] == c
        cached._sparsek_cache, cached._sparsek_new_scores = cache, s[:, sl]
        got = skhf._attention(cached, q[:, :, sl], kk, vv, None)[0]
        assert got.shape == want.shape == (b, c, hq, d)
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
        at += c
        assert cache.get_seq_length() == at
        assert cache.layers[0].get_mask_sizes(1) == (at + 1, 0)
        sizes.append(cache.nbytes)
    assert len(set(sizes)) == 1, "the state's size grew with the tokens"
    assert not bool(cache.layers[0].overflowed.any())


def test_cache_refuses_misuse():
    attn = Attn(2, 2, "kv", 0.0)
    cache = skhf.SparseKCache(model_of(attn))
    q, k, v, s = tokens(1, 2, 1, 4, 8, seed=1)
    cache.update(k, v, 0)
    # The attention must consume an update before the next one.
    with pytest.raises(RuntimeError, match="did not consume"):
        cache.update(k, v, 0)
    with pytest.raises(RuntimeError, match="without this layer's update"):
        attn._sparsek_cache, attn._sparsek_new_scores = cache, s
        skhf._attention(attn, q, k.clone(), v, None)
    with pytest.raises(NotImplementedError, match="cannot crop"):
        cache.layers[0].crop(2)
    with pytest.raises(ValueError, match="apply"):
        skhf.SparseKCache(model_of(nn.Module()))
    cache.layers[0].reset()
    assert cache.get_seq_length() == 0


def test_cache_reorders_its_batch():
    """Beam search's reorder permutes every state tensor along the batch."""
    attn = Attn(2, 2, "kv", 0.0)
    cache = skhf.SparseKCache(model_of(attn))
    q, k, v, s = tokens(2, 2, 1, 5, 8, seed=3)
    kk, vv = cache.update(k, v, 0)
    attn._sparsek_cache, attn._sparsek_new_scores = cache, s
    skhf._attention(attn, q, kk, vv, None)
    before = [t.clone() for t in cache.layers[0].state.tensors()]
    cache.layers[0].reorder_cache(torch.tensor([1, 0]))
    for t, b in zip(cache.layers[0].state.tensors(), before):
        assert torch.equal(t, b.flip(0))
