"""The Python package on the GPU machine (no compiler there): kernels from a
kernel pack (SPARSEK_KERNELS, built here by scripts/device-build.sh), CUDA
tensors against the float64 reference, torch.library.opcheck and
torch.compile(fullgraph=True) on torch >= 2.4, and the Python overhead per
call. Prints one line per check and "N passed, N failed".

    SPARSEK_KERNELS=.device/pack PYTHONPATH=python python3 python/tests/device_check.py
"""

import sys
import time

import torch

import sparsek
from sparsek import reference

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name} {detail}", flush=True)


def inputs(b, hq, hkv, n, m, d, dtype, dev="cuda", seed=0):
    g = torch.Generator().manual_seed(seed)
    q = (torch.rand(b, hq, n, d, generator=g) * 2 - 1).to(dtype).to(dev)
    k = (torch.rand(b, hkv, m, d, generator=g) * 2 - 1).to(dtype).to(dev)
    v = (torch.rand(b, hkv, m, d, generator=g) * 2 - 1).to(dtype).to(dev)
    u = (torch.rand(b, hkv, m, generator=g) * 4 - 2).to(dev)
    return q, k, v, u


def main():
    tol = {torch.float32: (1e-5, 1e-4), torch.bfloat16: (1e-2, 1e-2)}
    for dtype in (torch.float32, torch.bfloat16):
        q, k, v, u = inputs(2, 4, 2, 24, 30, 16, dtype, seed=1)
        out = sparsek.attention(q, k, v, u, topk=4, window=8)
        torch.cuda.synchronize()
        want = reference.attention(q, k, v, u, topk=4, window=8)
        atol, rtol = tol[dtype]
        err = (out.double().cpu() - want).abs()
        ok = bool((err <= atol + rtol * want.abs()).all()) and out.device.type == "cuda"
        check(f"cuda {dtype} vs float64 reference", ok, f"max err {err.max().item():.3g}")
    # Strided views on the GPU.
    qb = torch.randn(1, 24, 4, 16, device="cuda")
    kb = torch.randn(1, 30, 2, 16, device="cuda")
    u = torch.randn(1, 2, 30, device="cuda")
    out = sparsek.attention(qb.transpose(1, 2), kb.transpose(1, 2), kb.transpose(1, 2), u,
                            topk=4, window=8)
    want = reference.attention(qb.transpose(1, 2), kb.transpose(1, 2), kb.transpose(1, 2), u,
                               topk=4, window=8)
    err = (out.double().cpu() - want).abs().max().item()
    check("cuda strided views", err < 1e-4, f"max err {err:.3g}")
    if hasattr(torch.library, "opcheck"):
        q, k, v, u = inputs(1, 2, 2, 8, 8, 16, torch.float32, seed=2)
        try:
            torch.library.opcheck(torch.ops.sparsek.attention.default,
                                  (q, k, v, u, 4, 8, True, -1.0, "kv"),
                                  test_utils=("test_schema", "test_faketensor"))
            check("torch.library.opcheck (schema, fake tensor)", True)
        except Exception as e:  # noqa: BLE001
            check("torch.library.opcheck (schema, fake tensor)", False, str(e)[:300])
        try:
            f = torch.compile(lambda *a: sparsek.attention(*a, topk=4, window=8), fullgraph=True)
            out = f(q, k, v, u)
            ref = sparsek.attention(q, k, v, u, topk=4, window=8)
            check("torch.compile(fullgraph=True)", bool(torch.allclose(out, ref)))
        except Exception as e:  # noqa: BLE001
            check("torch.compile(fullgraph=True)", False, str(e)[:300])
    # Python overhead: a tiny CPU call (the compiled layer's own time is
    # microseconds there) beside the CUDA call.
    for dev in ("cpu", "cuda"):
        q, k, v, u = inputs(1, 2, 2, 8, 8, 16, torch.float32, dev=dev, seed=3)
        for _ in range(20):
            sparsek.attention(q, k, v, u, topk=4, window=8)
        if dev == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(200):
            sparsek.attention(q, k, v, u, topk=4, window=8)
        if dev == "cuda":
            torch.cuda.synchronize()
        us = (time.perf_counter() - t0) / 200 * 1e6
        print(f"INFO per-call time {dev} (N = 8, whole call incl. kernel): {us:.1f} us")
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
