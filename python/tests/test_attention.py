"""sparsek.attention on the CPU against the float64 reference of
docs/Semantics.md (sparsek.reference), every gate and dtype, GQA, N < M,
non-causal, strided inputs; tolerances |got - ref| <= atol + rtol |ref|:
f32 1e-5 + 1e-4, f16 2e-3 + 2e-3, bf16 1e-2 + 1e-2 (inputs are rounded to
the dtype before the reference sees them)."""

import itertools
import math

import pytest
import torch

import sparsek
from sparsek import reference

TOL = {torch.float32: (1e-5, 1e-4), torch.float16: (2e-3, 2e-3),
       torch.bfloat16: (1e-2, 1e-2)}


def inputs(b, hq, hkv, n, m, d, dv, dtype, seed=0, ties=False):
    g = torch.Generator().manual_seed(seed)
    q = torch.rand(b, hq, n, d, generator=g).mul(2).sub(1).to(dtype)
    k = torch.rand(b, hkv, m, d, generator=g).mul(2).sub(1).to(dtype)
    v = torch.rand(b, hkv, m, dv, generator=g).mul(2).sub(1).to(dtype)
    if ties:
        u = torch.randint(0, 6, (b, hkv, m), generator=g).float() * 0.5
    else:
        u = torch.rand(b, hkv, m, generator=g).mul(4).sub(2)
    return q, k, v, u


def check(out, want, dtype):
    atol, rtol = TOL[dtype]
    err = (out.double() - want).abs()
    bound = atol + rtol * want.abs()
    assert torch.isfinite(out.double()).all()
    assert (err <= bound).all(), f"max err {err.max().item():.3g}"


CASES = list(itertools.product(["kv", "v", "logit", "none"],
                               [torch.float32, torch.float16, torch.bfloat16]))


@pytest.mark.parametrize("gate,dtype", CASES)
def test_matches_reference(gate, dtype):
    q, k, v, u = inputs(2, 4, 2, 20, 27, 16, 8, dtype, seed=hash(gate) % 100,
                        ties=gate == "v")
    out = sparsek.attention(q, k, v, u, topk=5, window=4, gate=gate)
    assert out.shape == (2, 4, 20, 8) and out.dtype == dtype
    want = reference.attention(q, k, v, u, topk=5, window=4, gate=gate)
    check(out, want, dtype)


@pytest.mark.parametrize("hq,hkv", [(1, 1), (2, 1), (4, 1), (8, 1)])
def test_gqa_groups(hq, hkv):
    q, k, v, u = inputs(1, hq, hkv, 12, 12, 8, 8, torch.float32, seed=hq)
    out = sparsek.attention(q, k, v, u, topk=3, window=2)
    check(out, reference.attention(q, k, v, u, topk=3, window=2), torch.float32)


def test_noncausal_and_scale():
    q, k, v, u = inputs(1, 2, 2, 9, 21, 16, 16, torch.float32, seed=3)
    out = sparsek.attention(q, k, v, u, topk=4, window=0, causal=False,
                            scale=0.3, gate="logit")
    want = reference.attention(q, k, v, u, topk=4, window=0, causal=False,
                               scale=0.3, gate="logit")
    check(out, want, torch.float32)


def test_strided_views_without_copies():
    # [B, N, H, D] buffers seen as [B, H, N, D], as flash-attn and HF hold them.
    g = torch.Generator().manual_seed(5)
    qb = torch.randn(1, 14, 4, 8, generator=g)
    kb = torch.randn(1, 17, 2, 8, generator=g)
    vb = torch.randn(1, 17, 2, 8, generator=g)
    u = torch.randn(1, 2, 17, generator=g)
    q, k, v = qb.transpose(1, 2), kb.transpose(1, 2), vb.transpose(1, 2)
    assert not q.is_contiguous()
    out = sparsek.attention(q, k, v, u, topk=3, window=5)
    want = reference.attention(q.contiguous(), k.contiguous(), v.contiguous(), u,
                               topk=3, window=5)
    check(out, want, torch.float32)
    # A slice with a storage offset.
    big = torch.randn(1, 2, 40, 8, generator=g)
    ks, vs, us = big[:, :, 3:20], big[:, :, 5:22], torch.randn(1, 2, 30, generator=g)[:, :, 4:21]
    out = sparsek.attention(q, ks, vs, us, topk=3, window=5)
    want = reference.attention(q, ks, vs, us, topk=3, window=5)
    check(out, want, torch.float32)


def test_empty_and_single_token():
    q, k, v, u = inputs(1, 2, 2, 0, 0, 8, 8, torch.float32)
    assert sparsek.attention(q, k, v, u, topk=2, window=1).shape == (1, 2, 0, 8)
    q, k, v, u = inputs(1, 2, 2, 1, 1, 8, 8, torch.float32)
    u.fill_(float("-inf"))
    out = sparsek.attention(q, k, v, u, topk=2, window=1)
    assert torch.allclose(out[0, :, 0], v[0, :, 0])


def test_compiles_each_configuration_once():
    from sparsek import _compiler
    q, k, v, u = inputs(1, 2, 2, 6, 6, 8, 8, torch.float32)
    before = _compiler.compile_count
    sparsek.attention(q, k, v, u, topk=2, window=3, gate="none")
    first = _compiler.compile_count
    sparsek.attention(q, k, v, u, topk=2, window=3, gate="none")
    # A new process would find the library in the cache too.
    _compiler._kernels.clear()
    sparsek.attention(q, k, v, u, topk=2, window=3, gate="none")
    assert first == before + 1 and _compiler.compile_count == first


def test_kernel_pack(tmp_path, monkeypatch):
    from sparsek import _compiler, pack
    assert pack.main(["-o", str(tmp_path), "--topk", "2", "--window", "1",
                      "--gate", "v"]) == 0
    assert (tmp_path / "index.json").is_file()
    monkeypatch.setenv("SPARSEK_KERNELS", str(tmp_path))
    monkeypatch.setenv("SPARSEK_COMPILE", str(tmp_path / "no-compiler-here"))
    _compiler._kernels.clear()
    q, k, v, u = inputs(1, 2, 2, 5, 5, 8, 8, torch.float32, seed=9)
    out = sparsek.attention(q, k, v, u, topk=2, window=1, gate="v")
    check(out, reference.attention(q, k, v, u, topk=2, window=1, gate="v"), torch.float32)
    # A configuration the pack does not hold, and no compiler: a clear error.
    with pytest.raises(sparsek.SparseKError, match="no kernel for"):
        sparsek.attention(q, k, v, u, topk=3, window=1, gate="v")


BAD = [
    (dict(q=torch.randn(1, 2, 4)), ValueError, "'q' must have rank 4"),
    (dict(q=torch.randn(1, 2, 4, 8).double()), TypeError, "float32, float16 or bfloat16"),
    (dict(k=torch.randn(1, 2, 4, 8).half()), TypeError, "one dtype"),
    (dict(scores=torch.randn(1, 2, 4).double()), TypeError, "'scores' must be float32"),
    (dict(q=torch.randn(1, 3, 4, 8)), ValueError, "multiple of KV heads"),
    (dict(q=torch.randn(1, 2, 5, 8)), ValueError, "exceeds KV length"),
    (dict(topk=0), ValueError, "topk must be an int >= 1"),
    (dict(window=-1), ValueError, "window must be an int >= 0"),
    (dict(causal=False), ValueError, "non-causal layer needs window = 0"),
    (dict(gate="soft"), ValueError, "gate must be one of"),
    (dict(scale=-1.0), ValueError, "scale must be a finite number > 0"),
    (dict(scores=torch.randn(1, 2, 3)), ValueError, "'scores' must be"),
    (dict(q=[1, 2]), TypeError, "must be a torch.Tensor"),
]


@pytest.mark.parametrize("change,exc,msg", BAD)
def test_bad_input_raises(change, exc, msg):
    args = dict(q=torch.randn(1, 2, 4, 8), k=torch.randn(1, 2, 4, 8),
                v=torch.randn(1, 2, 4, 8), scores=torch.randn(1, 2, 4),
                topk=2, window=1)
    args.update(change)
    q, k, v, s = args.pop("q"), args.pop("k"), args.pop("v"), args.pop("scores")
    with pytest.raises(exc, match=msg):
        sparsek.attention(q, k, v, s, **args)


def _fd_grads(q, k, v, u, dout, **kw):
    """Central differences of sum(reference(q, k, v, u) * dout), float64."""
    def loss(qq, kk, vv, uu):
        return float((reference.attention(qq, kk, vv, uu, **kw) * dout).sum())
    grads = []
    args = [q.double().clone(), k.double().clone(), v.double().clone(), u.double().clone()]
    eps = 1e-6
    for a in range(4):
        g = torch.zeros_like(args[a])
        flat = args[a].view(-1)
        for e in range(flat.numel()):
            keep = flat[e].item()
            flat[e] = keep + eps
            lp = loss(*args)
            flat[e] = keep - eps
            lm = loss(*args)
            flat[e] = keep
            g.view(-1)[e] = (lp - lm) / (2 * eps)
        grads.append(g)
    return grads


def _away_from_kinks(u, topk, window, margin=1e-3):
    from sparsek.functional import _sparsek_tau
    row = u[0, 0].double()
    m = row.numel()
    srt = row.sort().values
    if (srt[1:] - srt[:-1]).min() < margin:
        return False
    for i in range(m):
        c = max(0, i - window + 1)
        if c == 0:
            continue
        t = _sparsek_tau(row[:c][None], topk)[0].item()
        if t == -math.inf:
            continue
        d = row[:c] - t
        if (d.abs() < margin).any() or ((d - 1).abs() < margin).any():
            return False
    return True


@pytest.mark.parametrize("gate", ["kv", "v", "logit", "none"])
def test_gradients_match_finite_differences(gate):
    # Scores spread narrowly so that the mask's fractional set is wide and
    # the threshold term of dscores matters; trials near a kink are skipped.
    g = torch.Generator().manual_seed(len(gate))
    for _ in range(50):
        u = (torch.rand(1, 1, 7, generator=g) * 1.2 - 0.6)
        if _away_from_kinks(u, 2, 2):
            break
    q = torch.rand(1, 2, 7, 4, generator=g) * 2 - 1
    k = torch.rand(1, 1, 7, 4, generator=g) * 2 - 1
    v = torch.rand(1, 1, 7, 3, generator=g) * 2 - 1
    dout = torch.rand(1, 2, 7, 3, generator=g) * 2 - 1
    leaves = [t.clone().requires_grad_() for t in (q, k, v, u)]
    out = sparsek.attention(*leaves, topk=2, window=2, gate=gate)
    (out * dout).sum().backward()
    want = _fd_grads(q, k, v, u, dout.double(), topk=2, window=2, gate=gate)
    for name, leaf, w in zip(("dq", "dk", "dv", "dscores"), leaves, want):
        err = (leaf.grad.double() - w).abs().max().item()
        assert err < 1e-4, f"{name}: max err {err:.3g}"


def test_gradients_reach_the_scores_only_through_weights():
    # Hard top-k (gate none): selection gets no gradient, so dscores = 0.
    q, k, v, u = inputs(1, 2, 1, 6, 6, 4, 4, torch.float32, seed=11)
    u.requires_grad_()
    sparsek.attention(q, k, v, u, topk=2, window=2, gate="none").sum().backward()
    assert torch.count_nonzero(u.grad) == 0


def test_torch_op_is_registered():
    q, k, v, u = inputs(1, 2, 2, 6, 6, 8, 8, torch.float32, seed=4)
    out = torch.ops.sparsek.attention(q, k, v, u, 2, 3, True, -1.0, "kv")
    check(out, reference.attention(q, k, v, u, topk=2, window=3), torch.float32)


def test_direct_call_only_when_nothing_watches(monkeypatch):
    """Without autograd, tracing or modes, sparsek.attention runs the kernel
    without the operator's dispatch; with a gradient to record it goes
    through the operators (for a causal layer, training's pair in block
    form: block selection + block attention, whose sums run in another
    order than the layer's: equal to f32 rounding)."""
    from sparsek import functional
    q, k, v, u = inputs(1, 4, 2, 9, 12, 8, 8, torch.float32, seed=6)
    assert functional._direct(q, k, v, u)
    with torch.no_grad():
        assert functional._direct(q, k, v, u.requires_grad_())
    assert not functional._direct(q, k, v, u)
    u = u.detach()
    seen = []
    real = functional._torch_ops.attention_op
    monkeypatch.setattr(functional._torch_ops, "attention_op",
                        lambda *a: seen.append(1) or real(*a))
    direct = sparsek.attention(q, k, v, u, topk=3, window=4)
    assert not seen
    via_op = sparsek.attention(q, k, v, u.requires_grad_(), topk=3, window=4)
    assert seen
    torch.testing.assert_close(direct, via_op.detach(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_return_lse_matches_reference(dtype):
    """return_lse: the output as without it, and every query's log-sum-exp
    against the float64 reference (-inf where a query attends to nothing:
    here the first query with window 0 and no candidate). f32 logits of
    inputs rounded to the dtype: 1e-4 + 1e-4|ref|."""
    q, k, v, u = inputs(2, 4, 2, 11, 15, 8, 8, dtype, seed=21)
    for window in (0, 3):
        out, lse = sparsek.attention(q, k, v, u, topk=3, window=window, return_lse=True)
        assert lse.shape == (2, 4, 11) and lse.dtype == torch.float32
        assert torch.equal(out, sparsek.attention(q, k, v, u, topk=3, window=window))
        want_out, want = reference.attention(q, k, v, u, topk=3, window=window,
                                             return_lse=True)
        check(out, want_out, dtype)
        finite = torch.isfinite(want)
        assert torch.equal(torch.isfinite(lse), finite)
        assert (lse[~finite] == -math.inf).all()
        err = (lse.double() - want)[finite].abs()
        assert (err <= 1e-4 + 1e-4 * want[finite].abs()).all(), err.max()
    # With autograd watching: the same values; lse gets no gradient.
    leaves = [t.clone().float().requires_grad_() for t in (q, k, v, u)]
    out, lse = sparsek.attention(*leaves, topk=3, window=3, return_lse=True)
    assert not lse.requires_grad
    out.sum().backward()
    with pytest.raises(ValueError, match="causal"):
        sparsek.attention(q, k, v, u, topk=3, window=0, causal=False, return_lse=True)


def test_backward_given_lse_equals_backward_without():
    """Training's pair (the causal autograd path): the backward given the
    forward's log-sum-exp gives the gradients of the backward that finds
    it itself."""
    q, k, v, u = inputs(1, 4, 2, 13, 13, 8, 8, torch.float32, seed=22)
    dout = torch.rand(1, 4, 13, 8, generator=torch.Generator().manual_seed(3)) - 0.5
    out, lse = torch.ops.sparsek.attention_lse(q, k, v, u, 3, 2, True, -1.0, "v")
    with_lse = torch.ops.sparsek.attention_backward_lse(q, k, v, u, out, dout, lse,
                                                        3, 2, True, -1.0, "v")
    without = torch.ops.sparsek.attention_backward(q, k, v, u, out, dout,
                                                   3, 2, True, -1.0, "v")
    for a, b in zip(with_lse, without):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)


def test_deterministic_configuration_compiles_and_matches():
    """The deterministic backward's configuration: its own key and the
    op's `deterministic` attribute, refused for a forward; compiled for
    the CPU (whose lowering is deterministic either way) it gives the
    default backward's gradients bit for bit. (The GPU kernels' bits over
    repeated runs are checked on the device: python/tests/device_check.py,
    bench/backward_run.sh det.)"""
    from sparsek import _compiler, _kernels
    cfg = _compiler.Config(target="cpu", dtype="f32", topk=3, window=2,
                           backward=True, lse=True, deterministic=True)
    assert cfg.key().endswith("-bwd-lse-det")
    assert "deterministic" in cfg.module()
    with pytest.raises(ValueError, match="backward option"):
        _compiler.Config(target="cpu", dtype="f32", topk=3, window=2,
                         deterministic=True).module()
    q, k, v, u = inputs(1, 4, 2, 13, 13, 8, 8, torch.float32, seed=23)
    dout = torch.rand(1, 4, 13, 8, generator=torch.Generator().manual_seed(4)) - 0.5
    out, lse = torch.ops.sparsek.attention_lse(q, k, v, u, 3, 2, True, -1.0, "kv")
    default = _kernels._run_backward(q, k, v, u, out, dout, 3, 2, True, None, "kv",
                                     lse=lse)
    kern = _kernels._kernel(q, 3, 2, True, None, "kv", True, True, True)
    got = [torch.empty_like(t) for t in default]
    assert _kernels._launch(kern, (q, k, v, u, out, dout, lse, *got)) == 0
    for a, b in zip(got, default):
        assert torch.equal(a, b)


@pytest.mark.parametrize("hq,hkv,blocks", [(8, 2, 32), (4, 2, 128), (3, 3, 128)])
def test_block_form_pair_matches_the_layer_pair(hq, hkv, blocks):
    """Training's pair in block form (the causal autograd path): the
    forward returns out, lse and its block selection (queries per block 32
    for groups divisible by 4, else 128: the GPU kernels' layouts), the
    backward is given them (sparsek.block_attention_backward) and gives the
    gradients of the backward given lse alone; autograd saves the
    selection and its gradients are those."""
    from sparsek import _compiler
    assert _compiler.block_size_for(hq, hkv) == blocks
    q, k, v, u = inputs(2, hq, hkv, 37, 40, 8, 8, torch.float32, seed=24)
    dout = torch.rand(2, hq, 37, 8, generator=torch.Generator().manual_seed(5)) - 0.5
    out, lse, *sel = torch.ops.sparsek.attention_blocks(q, k, v, u, 3, 5, -1.0, "kv")
    nb = -(-37 // blocks)
    assert [tuple(t.shape) for t in sel] == [
        (2, hkv, 37), (2, hkv, 37), (2, hkv, 37), (2, hkv, nb, 3 + blocks - 1), (2, hkv, nb)]
    assert [t.dtype for t in sel] == [torch.float32, torch.int32, torch.float32,
                                      torch.int32, torch.int32]
    # Each block's union: its count of distinct ascending keys, -1 after.
    keys, count = sel[3], sel[4]
    for row in range(2 * hkv):
        for blk in range(nb):
            c = int(count.view(-1, nb)[row, blk])
            ks = keys.view(-1, nb, keys.shape[-1])[row, blk]
            assert 0 <= c <= keys.shape[-1]
            assert (ks[c:] == -1).all() and (ks[:c].diff() > 0).all()
    out2, lse2 = torch.ops.sparsek.attention_lse(q, k, v, u, 3, 5, True, -1.0, "kv")
    torch.testing.assert_close(out, out2, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(lse, lse2, rtol=1e-5, atol=1e-6)
    got = torch.ops.sparsek.attention_backward_blocks(q, k, v, u, out, dout, lse, *sel,
                                                      3, 5, -1.0, "kv")
    want = torch.ops.sparsek.attention_backward_lse(q, k, v, u, out, dout, lse,
                                                    3, 5, True, -1.0, "kv")
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    leaves = [t.clone().requires_grad_() for t in (q, k, v, u)]
    y = sparsek.attention(*leaves, topk=3, window=5)
    assert "Blocks" in type(y.grad_fn).__name__
    (y * dout).sum().backward()
    for leaf, b in zip(leaves, want):
        torch.testing.assert_close(leaf.grad, b, rtol=1e-4, atol=1e-5)
