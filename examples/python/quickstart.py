"""sparsek from Python in a minute: SparseK attention on random inputs,
checked against the package's float64 reference, then a SparseK attention
block trained for a few steps (gradients reach its scorer).

    PYTHONPATH=python /usr/bin/python3 examples/python/quickstart.py [--device cuda]

The first call compiles the layer with sparsek-compile (build/bin, PATH or
SPARSEK_COMPILE) and caches it; on a machine without the compiler point
SPARSEK_KERNELS at a kernel pack (`python -m sparsek.pack`).
"""

import argparse

import torch

import sparsek
from sparsek import reference
from sparsek.nn import SparseKAttention


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    dev = ap.parse_args().device
    torch.manual_seed(0)

    # One layer call: 8 query heads sharing 2 KV heads, 256 tokens; each
    # query sees its 32 most recent tokens and the 16 best-scoring earlier
    # ones, weighted by the SPARSEK mask of the scores.
    b, hq, hkv, n, d = 1, 8, 2, 256, 64
    q = torch.randn(b, hq, n, d, device=dev)
    k = torch.randn(b, hkv, n, d, device=dev)
    v = torch.randn(b, hkv, n, d, device=dev)
    scores = torch.randn(b, hkv, n, device=dev)          # one score per KV pair
    out = sparsek.attention(q, k, v, scores, topk=16, window=32)
    want = reference.attention(q, k, v, scores, topk=16, window=32)
    err = (out.double().cpu() - want).abs().max().item()
    print(f"sparsek.attention {tuple(out.shape)} on {dev}: max |out - float64 reference| = {err:.2e}")
    assert err < 1e-4

    # A Llama-style block with its scoring network, a few training steps
    # of a toy objective: the scorer learns through the SPARSEK mask.
    block = SparseKAttention(128, num_heads=4, num_kv_heads=2, topk=8, window=16).to(dev)
    opt = torch.optim.Adam(block.parameters(), lr=1e-3)
    x = torch.randn(2, 64, 128, device=dev)
    target = torch.randn(2, 64, 128, device=dev)
    for step in range(3):
        loss = (block(x) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"step {step}: loss {loss.item():.4f}, scorer grad norm "
              f"{block.scorer.weight.grad.norm().item():.3e}")


if __name__ == "__main__":
    main()
