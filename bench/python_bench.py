"""The sparsek layer called from Python (`sparsek.attention`, kernels from a
kernel pack) beside the peers, on the device machine; run the C++ benchmark
in the same call to compare (bench/RESULTS.md):

    for n in 4096 16384 65536; do .device/gpu-layer-bench $n 3; done
    tar xzf .device/pack.tgz -C .device   # once: the pack ships compressed
    SPARSEK_KERNELS=.device/pack PYTHONPATH=python:bench python3 bench/python_bench.py [N ...]

Same shapes as bench/gpu_peers.py (B = 1, Hq = 8, Hkv = 2, D = 128, bf16,
k = 256, window = 512, causal). Each time is the median of
triton.testing.do_bench (CUDA events, warm-up first): `sparsek_python` the
whole Python call (`sparsek.attention`, torch's stream, scratch from torch),
`sparsek_graph` the same call captured in a CUDA graph and replayed,
`sdpa_cudnn` / `flex_window` the peers. The package's host overhead per
call is bench/python_overhead.py's.

With --backward first: forward + backward through autograd
(`sparsek.attention` on leaves that require grad, then `.backward(dout)`:
training's pair in block form, the backward given the forward's
log-sum-exp and block selection), `sparsek_python_fwd_bwd`, beside cuDNN's
dense causal forward + backward (the pack needs the block-form
configurations of k 256, window 512: `python -m sparsek.pack --backward`).
"""

import sys

import torch
from torch.nn.attention import SDPBackend
from triton.testing import do_bench

import sparsek
from gpu_peers import (B, D, HKV, HQ, K, W, expand, inputs, print_table, sdpa,
                       window_block_mask)

BACKWARD = "--backward" in sys.argv[1:]
SIZES = [int(a) for a in sys.argv[1:] if a != "--backward"] or [4096, 16384, 65536]


def graphed(fn):
    """fn captured in a CUDA graph (after warm-up on a side stream)."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return g.replay


def backward_rows():
    """Forward + backward through autograd: sparsek and cuDNN's dense
    causal attention."""
    rows = []
    for n in SIZES:
        q, k, v, u = inputs(n)
        for t in (q, k, v, u):
            t.requires_grad_(True)
        dout = torch.randn_like(q)

        def step(f):
            def run():
                for t in (q, k, v, u):
                    t.grad = None
                f().backward(dout)
            return run

        res = {}
        for name, fn in [
            ("sparsek_python_fwd_bwd",
             step(lambda: sparsek.attention(q, k, v, u, topk=K, window=W))),
            ("sdpa_cudnn_fwd_bwd",
             step(lambda: sdpa(SDPBackend.CUDNN_ATTENTION, q, expand(k), expand(v))))]:
            res[name] = do_bench(fn, warmup=20, rep=100, return_mode="median")
        rows.append((n, res))
        del q, k, v, u, dout
        torch.cuda.empty_cache()
    print_table(rows, list(rows[0][1]))


def main():
    if BACKWARD:
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
        print(f"B={B} Hq={HQ} Hkv={HKV} D={D} bf16 causal, k={K} window={W}, "
              "forward + backward")
        return backward_rows()
    from torch.nn.attention.flex_attention import flex_attention
    flex = torch.compile(flex_attention)
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"B={B} Hq={HQ} Hkv={HKV} D={D} bf16 causal, k={K} window={W}")
    rows = []
    for n in SIZES:
        q, k, v, u = inputs(n)
        ke, ve = expand(k), expand(v)
        bm = window_block_mask(n)
        call = lambda: sparsek.attention(q, k, v, u, topk=K, window=W)  # noqa: E731
        res = {}
        for name, fn in [("sparsek_python", call), ("sparsek_graph", graphed(call)),
                         ("sdpa_cudnn", lambda: sdpa(SDPBackend.CUDNN_ATTENTION, q, ke, ve)),
                         ("flex_window", lambda: flex(q, ke, ve, block_mask=bm))]:
            res[name] = do_bench(fn, warmup=25, rep=100, return_mode="median")
        rows.append((n, res))
        torch.cuda.empty_cache()
    print_table(rows, list(rows[0][1]))


if __name__ == "__main__":
    main()
