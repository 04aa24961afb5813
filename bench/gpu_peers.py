"""GPU peers for the SparseK layer benchmark (GPU issue), measured in one run.

Times, at N = M in {4K, 16K, 64K} (B = 1, Hq = 8, Hkv = 2, D = 128, bf16,
k = 256, window = 512, causal):
  - torch SDPA, flash backend and cuDNN backend (full causal attention);
  - FlexAttention with a causal sliding-window block mask (window 512 only);
  - a plain PyTorch SparseK written the way a user would: per block of
    queries, top-k over the masked prefix scores, gather window + selected
    keys, softmax (hard top-k, gate `none`: the cheapest form).
Each timing is the median of triton.testing.do_bench (CUDA events) after
warm-up. Run on the device machine:  python3 bench/gpu_peers.py
With --backward first: forward + backward of the SDPA backends and of
FlexAttention (dout random; gradients of q, k, v).
The sparsek GPU layer joins this table once --sparsek-nvvm-pipeline exists.
"""

import math
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton.testing import do_bench

B, HQ, HKV, D, K, W = 1, 8, 2, 128, 256, 512
BACKWARD = "--backward" in sys.argv[1:]
SIZES = [int(a) for a in sys.argv[1:] if a != "--backward"] or [4096, 16384, 65536]
DT = torch.bfloat16
dev = "cuda"


def inputs(n, seed=0):
    g = torch.Generator(device=dev).manual_seed(seed)
    q = torch.randn(B, HQ, n, D, device=dev, dtype=DT, generator=g)
    k = torch.randn(B, HKV, n, D, device=dev, dtype=DT, generator=g)
    v = torch.randn(B, HKV, n, D, device=dev, dtype=DT, generator=g)
    u = torch.randn(B, HKV, n, device=dev, dtype=torch.float32, generator=g)
    return q, k, v, u


def expand(t):
    return t.repeat_interleave(HQ // HKV, dim=1)


def sdpa(backend, q, k, v):
    with sdpa_kernel(backend):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def plain_sparsek(q, k, v, u, k_sel=K, window=W, block=1024):
    """What a PyTorch user writes: top-k of the causal candidates, gather,
    softmax over window + selection. Hard top-k (gate none)."""
    b, hq, n, d = q.shape
    m = k.shape[2]
    group = hq // HKV
    out = torch.empty_like(q)
    scale = 1.0 / math.sqrt(d)
    ar = torch.arange(m, device=dev)
    for s in range(0, n, block):
        e = min(n, s + block)
        pos = torch.arange(s, e, device=dev) + (m - n)           # [C]
        # Candidates j <= p - W; ties broken towards recent keys.
        cand = ar[None, :] <= (pos[:, None] - window)                  # [C, M]
        sc = u[:, :, None, :] + ar * 1e-9                         # [B, Hkv, 1, M]
        sc = sc.expand(b, HKV, e - s, m).masked_fill(~cand, float("-inf"))
        kk = min(k_sel, m)
        top = sc.topk(kk, dim=-1)
        sel = torch.where(torch.isinf(top.values), -1, top.indices)  # [B,Hkv,C,K]
        win = pos[:, None] - torch.arange(window - 1, -1, -1, device=dev)[None, :]
        idx = torch.cat([win.expand(b, HKV, -1, -1), sel], dim=-1)    # [B,Hkv,C,W+K]
        valid = idx >= 0
        idxc = idx.clamp(min=0)
        kg = torch.gather(k[:, :, None].expand(-1, -1, e - s, -1, -1), 3,
                          idxc[..., None].expand(-1, -1, -1, -1, d))  # [B,Hkv,C,W+K,D]
        vg = torch.gather(v[:, :, None].expand(-1, -1, e - s, -1, -1), 3,
                          idxc[..., None].expand(-1, -1, -1, -1, d))
        qb = q[:, :, s:e].view(b, HKV, group, e - s, d)
        logits = torch.einsum("bgqcd,bgckd->bgqck", qb.float(), kg.float()) * scale
        logits = logits.masked_fill(~valid[:, :, None], float("-inf"))
        p = logits.softmax(-1)
        o = torch.einsum("bgqck,bgckd->bgqcd", p, vg.float())
        out[:, :, s:e] = o.reshape(b, hq, e - s, d).to(q.dtype)
    return out


def window_block_mask(n):
    """FlexAttention's block mask of causal attention over a window of W."""
    from torch.nn.attention.flex_attention import create_block_mask

    def window(b, h, qi, ki):
        return (qi >= ki) & (qi - ki < W)
    return create_block_mask(window, B=None, H=None, Q_LEN=n, KV_LEN=n, device=dev)


def print_table(rows, names):
    """rows: (N, {name: ms}); one markdown row per N."""
    print()
    print("| N | " + " | ".join(f"{x} (ms)" for x in names) + " |")
    print("| ---: | " + " | ".join("---:" for _ in names) + " |")
    for n, res in rows:
        print(f"| {n} | " + " | ".join(f"{res[x]:.3f}" for x in names) + " |")


def main():
    from torch.nn.attention.flex_attention import flex_attention
    flex = torch.compile(flex_attention)
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"B={B} Hq={HQ} Hkv={HKV} D={D} bf16 causal, k={K} window={W}")
    # Sanity: with every candidate selected, the plain SparseK is causal
    # attention.
    q, k, v, u = inputs(512, seed=1)
    ref = sdpa(SDPBackend.MATH, q.float(), expand(k).float(), expand(v).float())
    got = plain_sparsek(q, k, v, u, k_sel=512, window=16, block=128).float()
    rel = ((got - ref).norm() / ref.norm()).item()
    print(f"check: plain SparseK with k >= M vs causal SDPA: rel err {rel:.2e}")
    assert rel < 1e-2, rel
    if BACKWARD:
        return backward_peers(flex)
    rows = []
    for n in SIZES:
        q, k, v, u = inputs(n)
        ke, ve = expand(k), expand(v)
        bm = window_block_mask(n)
        res = {}
        for name, fn in [
            ("sdpa_flash", lambda: sdpa(SDPBackend.FLASH_ATTENTION, q, ke, ve)),
            ("sdpa_cudnn", lambda: sdpa(SDPBackend.CUDNN_ATTENTION, q, ke, ve)),
            ("flex_window", lambda: flex(q, ke, ve, block_mask=bm)),
            ("torch_sparsek", lambda: plain_sparsek(q, k, v, u)),
        ]:
            try:
                res[name] = do_bench(fn, warmup=50, rep=200, return_mode="median")
            except Exception as e:  # a backend that does not run is recorded
                print(f"{name} at N={n}: {type(e).__name__}: {str(e)[:120]}")
                res[name] = float("nan")
        rows.append((n, res))
        torch.cuda.empty_cache()
    print_table(rows, ["sdpa_flash", "sdpa_cudnn", "flex_window", "torch_sparsek"])


def backward_peers(flex):
    """Forward + backward (dq, dk, dv) of the dense and window peers."""
    rows = []
    for n in SIZES:
        q, k, v, u = inputs(n)
        for t in (q, k, v):
            t.requires_grad_(True)
        dout = torch.randn_like(q)
        bm = window_block_mask(n)

        def step(f):
            def run():
                for t in (q, k, v):
                    t.grad = None
                f(q, expand(k), expand(v)).backward(dout)
            return run

        res = {}
        for name, fn in [
            ("sdpa_flash_fwd_bwd",
             step(lambda a, b, c: sdpa(SDPBackend.FLASH_ATTENTION, a, b, c))),
            ("sdpa_cudnn_fwd_bwd",
             step(lambda a, b, c: sdpa(SDPBackend.CUDNN_ATTENTION, a, b, c))),
            ("flex_window_fwd_bwd",
             step(lambda a, b, c: flex(a, b, c, block_mask=bm))),
        ]:
            try:
                res[name] = do_bench(fn, warmup=20, rep=100, return_mode="median")
            except Exception as e:  # a backend that does not run is recorded
                print(f"{name} at N={n}: {type(e).__name__}: {str(e)[:120]}")
                res[name] = float("nan")
        rows.append((n, res))
        del q, k, v, dout
        torch.cuda.empty_cache()
    print_table(rows, ["sdpa_flash_fwd_bwd", "sdpa_cudnn_fwd_bwd",
                       "flex_window_fwd_bwd"])


if __name__ == "__main__":
    main()
