"""The sparsek layer called from Python (`sparsek.attention`, kernels from a
kernel pack) beside the C++ benchmark's numbers and the peers, in one run
on the device machine:

    SPARSEK_KERNELS=.device/pack PYTHONPATH=python:bench python3 bench/python_bench.py [N ...]

Same shapes as bench/gpu_peers.py (B = 1, Hq = 8, Hkv = 2, D = 128, bf16,
k = 256, window = 512, causal). Each time is the median of
triton.testing.do_bench (CUDA events, warm-up first): `sparsek_python` the
whole Python call (`sparsek.attention`, torch's stream, scratch from torch),
`sparsek_graph` the same call captured in a CUDA graph and replayed,
`sdpa_cudnn` / `flex_window` the peers. Then the host time per call at a
tiny shape (N = 8; the GPU is not the bottleneck there): the Python call,
and the bare C entry point on the same descriptors through ctypes, whose
difference is the package's overhead.
"""

import ctypes
import sys
import time

import torch
from torch.nn.attention import SDPBackend
from triton.testing import do_bench

import sparsek
from sparsek import _kernels
from sparsek._memref import describe
from gpu_peers import B, D, HKV, HQ, K, W, expand, inputs, sdpa

SIZES = [int(a) for a in sys.argv[1:]] or [4096, 16384, 65536]


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


def host_time(fn, n=500):
    for _ in range(50):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    t1 = time.perf_counter()
    torch.cuda.synchronize()
    return (t1 - t0) / n * 1e6


def overhead():
    q, k, v, u = inputs(8)
    call = lambda: sparsek.attention(q, k, v, u, topk=K, window=W)  # noqa: E731
    call()
    kern = _kernels._kernel(q, K, W, True, None, "kv", False)
    out = torch.empty_like(q)
    descs = [describe(t) for t in (q, k, v, u, out)]
    ptrs = [ctypes.addressof(d) for d in descs]
    stream = torch.cuda.current_stream().cuda_stream
    need = max(_kernels._workspace_bytes.values())
    ws = torch.empty(need, dtype=torch.uint8, device="cuda")

    def bare():
        kern.lib.sparsekCudaBeginCall(stream, ws.data_ptr(), need)
        kern.fn(*ptrs)
        kern.lib.sparsekCudaEndCall()
    t_py = host_time(call)
    t_bare = host_time(bare)
    t_op = host_time(lambda: torch.ops.sparsek.attention(q, k, v, u, K, W, True, -1.0, "kv"))
    print(f"host time per call at N = 8: sparsek.attention {t_py:.1f} us, "
          f"torch.ops.sparsek.attention {t_op:.1f} us, bare C entry via ctypes "
          f"{t_bare:.1f} us: Python overhead {t_py - t_bare:.1f} us")


def main():
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    flex = torch.compile(flex_attention)
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"B={B} Hq={HQ} Hkv={HKV} D={D} bf16 causal, k={K} window={W}")
    rows = []
    for n in SIZES:
        q, k, v, u = inputs(n)
        ke, ve = expand(k), expand(v)

        def window(b, h, qi, ki):
            return (qi >= ki) & (qi - ki < W)
        bm = create_block_mask(window, B=None, H=None, Q_LEN=n, KV_LEN=n, device="cuda")
        call = lambda: sparsek.attention(q, k, v, u, topk=K, window=W)  # noqa: E731
        res = {}
        for name, fn in [("sparsek_python", call), ("sparsek_graph", graphed(call)),
                         ("sdpa_cudnn", lambda: sdpa(SDPBackend.CUDNN_ATTENTION, q, ke, ve)),
                         ("flex_window", lambda: flex(q, ke, ve, block_mask=bm))]:
            res[name] = do_bench(fn, warmup=25, rep=100, return_mode="median")
        rows.append((n, res))
        torch.cuda.empty_cache()
    names = list(rows[0][1])
    print()
    print("| N | " + " | ".join(f"{x} (ms)" for x in names) + " |")
    print("| ---: | " + " | ".join("---:" for _ in names) + " |")
    for n, res in rows:
        print(f"| {n} | " + " | ".join(f"{res[x]:.3f}" for x in names) + " |")
    overhead()


if __name__ == "__main__":
    main()
