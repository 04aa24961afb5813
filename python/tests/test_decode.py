"""sparsek.decode on the CPU (the compiled prefill and step entries) against
the float64 whole-sequence layer (sparsek.reference.attention over prompt +
steps, every step's output): gates, dtypes, GQA, w = 0, sequences of
different lengths, flat scores with a band that overflows; the state's size
does not grow with the steps; bad shapes raise. Tolerances as
test_attention.py's."""

import pytest
import torch

import sparsek
import sparsek.decode as dec
from sparsek import reference

TOL = {torch.float32: (1e-5, 1e-4), torch.float16: (2e-3, 2e-3),
       torch.bfloat16: (1e-2, 1e-2)}


def sequence(b, hq, hkv, n, d, dtype, seed, flat=False):
    g = torch.Generator().manual_seed(seed)
    q = torch.rand(b, hq, n, d, generator=g).mul(2).sub(1).to(dtype)
    k = torch.rand(b, hkv, n, d, generator=g).mul(2).sub(1).to(dtype)
    v = torch.rand(b, hkv, n, d, generator=g).mul(2).sub(1).to(dtype)
    u = torch.full((b, hkv, n), 0.25) if flat else torch.rand(b, hkv, n, generator=g) * 4 - 2
    return q, k, v, u


def run(state, q, k, v, u, lengths, steps, gate):
    """Prefill each sequence's first lengths[b] tokens, then decode
    `steps` tokens; returns every step's output [B, Hq, steps, D]."""
    p = int(max(lengths))
    dec.prefill(state, k[:, :, :p], v[:, :, :p], u[:, :, :p],
                lengths=torch.tensor(lengths, dtype=torch.int32))
    outs = []
    b = q.shape[0]
    for t in range(steps):
        # Sequence i's token t after its prompt sits at index lengths[i] + t.
        idx = torch.tensor([lengths[i] + t for i in range(b)])
        pick = lambda x: torch.stack([x[i, :, idx[i]] for i in range(b)]).unsqueeze(2)
        outs.append(dec.step(state, pick(q), pick(k), pick(v),
                             torch.stack([u[i, :, idx[i]] for i in range(b)]).unsqueeze(2),
                             gate=gate))
    return torch.cat(outs, 2)


def want(q, k, v, u, lengths, steps, topk, window, gate):
    rows = []
    for i, n0 in enumerate(lengths):
        m = n0 + steps
        rows.append(reference.attention(q[i:i + 1, :, n0:m], k[i:i + 1, :, :m],
                                        v[i:i + 1, :, :m], u[i:i + 1, :, :m],
                                        topk=topk, window=window, gate=gate))
    return torch.cat(rows)


@pytest.mark.parametrize("gate,dtype,group,window", [
    ("kv", torch.float32, 2, 3), ("v", torch.bfloat16, 4, 5),
    ("logit", torch.float16, 1, 0), ("none", torch.float32, 8, 2)])
def test_steps_match_the_whole_sequence(gate, dtype, group, window):
    b, hkv, d, topk, steps = 3, 2, 16, 4, 12
    lengths = [20, 13, 0]  # different lengths, an empty prompt
    q, k, v, u = sequence(b, hkv * group, hkv, 20 + steps, d, dtype, seed=3)
    state = dec.allocate(b, hkv, d, topk=topk, window=window, band_capacity=64,
                         dtype=dtype)
    got = run(state, q, k, v, u, lengths, steps, gate)
    ref = want(q, k, v, u, lengths, steps, topk, window, gate)
    atol, rtol = TOL[dtype]
    err = (got.double() - ref).abs()
    assert (err <= atol + rtol * ref.abs()).all(), f"max err {err.max().item():.3g}"
    assert state.lengths.tolist() == [n + steps for n in lengths]
    assert not state.overflowed.any()


def test_overflow_is_recorded_and_the_size_is_constant():
    b, hkv, d = 1, 1, 8
    q, k, v, u = sequence(b, 2, hkv, 300, d, torch.float32, seed=5, flat=True)
    state = dec.allocate(b, hkv, d, topk=4, window=2, band_capacity=3)
    size = state.nbytes
    run(state, q, k, v, u, [10], 20, "kv")
    assert state.overflowed.all()
    run(state, q, k, v, u, [10], 280, "kv")
    assert state.nbytes == size  # nothing grew with 270 more tokens
    assert state.lengths.tolist() == [290]


def test_bad_shapes_raise():
    state = dec.allocate(2, 2, 16, topk=4, window=3)
    q = torch.zeros(2, 3, 1, 16)  # 3 query heads over 2 KV heads
    kv = torch.zeros(2, 2, 1, 16)
    with pytest.raises(ValueError):
        dec.step(state, q, kv, kv, torch.zeros(2, 2, 1))
    with pytest.raises(ValueError):
        dec.allocate(1, 1, 8, topk=0, window=2)
