"""sparsek.mask (SPARSEK with its gradient) and sparsek.score."""

import math

import torch

import sparsek


def brute_tau(z, k):
    zs = [x for x in z if x != -math.inf]
    if len(zs) <= k:
        return -math.inf
    lo, hi = min(zs) - 1, max(zs)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if sum(min(max(x - mid, 0), 1) for x in zs) > k:
            lo = mid
        else:
            hi = mid
    return hi


def test_mask_matches_bisection_and_sums_to_k():
    g = torch.Generator().manual_seed(1)
    for trial in range(200):
        n = 1 + trial % 23
        k = 1 + trial % 5
        z = torch.randn(n, generator=g, dtype=torch.float64) * (0.3 + trial % 4)
        if trial % 3 == 0:
            z = (z * 2).round() / 2  # ties and flat regions
        p, tau = sparsek.mask(z[None], k)
        want = brute_tau(z.tolist(), k)
        if want == -math.inf:
            assert tau.item() == -math.inf and (p == 1).all()
        else:
            assert abs(tau.item() - want) < 1e-9
            assert abs(p.sum().item() - k) < 1e-9


def test_mask_conventions():
    p, tau = sparsek.mask(torch.tensor([[3.0, 1.0, 0.0]]), 1)
    assert tau.item() == 1.0 and p.tolist() == [[1.0, 0.0, 0.0]]
    ninf = float("-inf")
    p, tau = sparsek.mask(torch.tensor([[2.0, ninf, 0.5, ninf]]), 2)
    assert tau.item() == ninf and (p == 1).all()


def test_mask_gradient_matches_finite_differences():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(3, 9, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 9, generator=g, dtype=torch.float64)
    p, _ = sparsek.mask(z, 3)
    (p * w).sum().backward()
    eps = 1e-6
    for r in range(3):
        for j in range(9):
            zp, zm = z.detach().clone(), z.detach().clone()
            zp[r, j] += eps
            zm[r, j] -= eps
            fd = ((sparsek.mask(zp, 3)[0] - sparsek.mask(zm, 3)[0]) * w).sum() / (2 * eps)
            assert abs(z.grad[r, j].item() - fd.item()) < 1e-5


def test_score():
    g = torch.Generator().manual_seed(3)
    x, w, b = torch.randn(2, 7, 5, generator=g), torch.randn(3, 5, generator=g), torch.randn(3, generator=g)
    u = sparsek.score(x, w, b, slope=0.25)
    want = torch.einsum("bmc,hc->bhm", x.double(), w.double()) + b.double()[None, :, None] \
        + 0.25 * torch.arange(7, dtype=torch.float64)
    assert u.dtype == torch.float32 and torch.allclose(u.double(), want, atol=1e-5)
