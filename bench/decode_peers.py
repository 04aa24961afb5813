"""Peers of sparsek's decode step (issue 12), measured in one run.

One decoding step of Hq = 32 query heads over Hkv = 8 KV heads, D = 128,
bf16, for B in {1, 16, 64} at contexts of 8K, 32K and 128K tokens:
  - dense decoding over the full KV cache, torch SDPA (default backend
    choice, and the flash and cuDNN backends), GQA without expanding K/V;
  - sliding-window decoding over the last 512 tokens (SDPA);
  - SDPA over a cache of k + w = 768 entries: the bytes sparsek's step reads,
    attended densely (no selection update): what the step costs without
    SparseK's bookkeeping.
And the floor's measure: the device's copy bandwidth (a 2 GiB
device-to-device copy; bytes read + written over time).
Each timing is the median of triton.testing.do_bench (CUDA events, the
step's launches only: the tensors are preallocated).
Run on the device machine:  python3 bench/decode_peers.py [B ...]
"""

import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton.testing import do_bench

HQ, HKV, D, K, W = 32, 8, 128, 256, 512
BATCHES = [int(a) for a in sys.argv[1:]] or [1, 16, 64]
CONTEXTS = [8192, 32768, 131072]
DT = torch.bfloat16
dev = "cuda"


def copy_bandwidth():
    n = 1 << 30  # 2 GiB of bf16
    src = torch.empty(n, device=dev, dtype=DT)
    dst = torch.empty_like(src)
    ms = do_bench(lambda: dst.copy_(src), warmup=5, rep=50)
    return 2 * n * 2 / (ms * 1e-3) / 1e9  # GB/s


def step_ms(q, k, v, backend=None):
    def run():
        if backend is None:
            return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        with sdpa_kernel(backend):
            return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    try:
        run()
        return do_bench(run, warmup=10, rep=100)
    except Exception as e:  # a backend that refuses the shape
        return float("nan")


def main():
    bw = copy_bandwidth()
    print(f"copy_bandwidth_GBps {bw:.0f}")
    sparsek_bytes = lambda b: b * HKV * (K + W) * 2 * D * 2
    for b in BATCHES:
        q = torch.randn(b, HQ, 1, D, device=dev, dtype=DT)
        for ctx, name in [(K + W, "sdpa_768_cache"), (W, "sdpa_window_512")]:
            k = torch.randn(b, HKV, ctx, D, device=dev, dtype=DT)
            v = torch.randn_like(k)
            print(f"{name} B {b} step_us {1e3 * step_ms(q, k, v):.2f}")
            del k, v
        print(f"floor B {b} bytes_MB {sparsek_bytes(b) / 1e6:.1f} "
              f"floor_us {sparsek_bytes(b) / (bw * 1e9) * 1e6:.2f}")
        for ctx in CONTEXTS:
            need = b * HKV * ctx * D * 2 * 2
            if need > 40e9:
                print(f"dense B {b} context {ctx} skipped (KV cache {need / 1e9:.0f} GB)")
                continue
            k = torch.randn(b, HKV, ctx, D, device=dev, dtype=DT)
            v = torch.randn_like(k)
            row = [f"dense B {b} context {ctx} kv_GB {need / 1e9:.2f}"]
            for label, be in [("default", None), ("flash", SDPBackend.FLASH_ATTENTION),
                              ("cudnn", SDPBackend.CUDNN_ATTENTION)]:
                row.append(f"{label}_us {1e3 * step_ms(q, k, v, be):.1f}")
            print(" ".join(row), flush=True)
            del k, v
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
