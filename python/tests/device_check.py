"""The Python package on the GPU machine (no compiler there): kernels from a
kernel pack (SPARSEK_KERNELS, built here by scripts/device-build.sh), CUDA
tensors against the float64 reference, torch.library.opcheck and
torch.compile(fullgraph=True) on torch >= 2.4, torch's stream and CUDA
graph capture, and the Python overhead per call. Prints one line per check and "N passed, N failed".

    SPARSEK_KERNELS=.device/pack PYTHONPATH=python python3 python/tests/device_check.py
"""

import os
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


def gradients(dev, tensors, dout, topk=4, window=8):
    """The gradients of q, k, v and the scores on `dev` (as f32 on the CPU)
    of sum(attention * dout)."""
    leaves = [t.to(dev).clone().requires_grad_() for t in tensors]
    out = sparsek.attention(*leaves, topk=topk, window=window)
    (out.float() * dout.to(dev)).sum().backward()
    return [t.grad.float().cpu() for t in leaves]


def within_bf16(got, want):
    """Whether every gradient of `got` is within 5e-2 + 5e-2|want| of
    `want`'s, and the largest error."""
    ok, worst = True, 0.0
    for a, b in zip(got, want):
        err = (a - b).abs()
        ok = ok and bool((err <= 5e-2 + 5e-2 * b.abs()).all())
        worst = max(worst, err.max().item())
    return ok, worst


def bf16_gradients_vs_cpu(hq, seed, label):
    """bf16 gradients (B 1, Hkv 2, N = M = 300, D 64) on CUDA against the
    CPU's, checked as `label`; returns the inputs, dout and the CPU's
    gradients."""
    tensors = inputs(1, hq, 2, 300, 300, 64, torch.bfloat16, dev="cpu", seed=seed)
    dout = torch.randn(1, hq, 300, 64)
    cpu, cuda = [gradients(dev, tensors, dout) for dev in ("cpu", "cuda")]
    ok, worst = within_bf16(cuda, cpu)
    check(label, ok, f"max err {worst:.3g} (tolerance 5e-2 + 5e-2|cpu|)")
    return tensors, dout, cpu


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
    stream_and_graph_checks()
    # Gradients on the GPU against the CPU kernels' (checked in CI against
    # finite differences of the float64 reference).
    q, k, v, u = inputs(1, 4, 2, 20, 20, 16, torch.float32, dev="cpu", seed=5)
    dout = torch.randn(1, 4, 20, 16)
    grads = [gradients(dev, (q, k, v, u), dout) for dev in ("cpu", "cuda")]
    err = max((a - b).abs().max().item() for a, b in zip(*grads))
    check("cuda gradients vs cpu gradients", err < 1e-4, f"max err {err:.3g}")
    # bf16 with head dim 64: the CUDA gradients come from the tensor-core
    # backward kernel (the CPU's from the linalg lowering), both f32 inside;
    # autograd's pair in block form with blocks of 128 queries (a group of
    # 2), then of 32 (a group of 4: the four-head layout).
    (q, k, v, u), dout, cpu_grads = bf16_gradients_vs_cpu(
        4, 6, "cuda bf16 gradients (tensor-core backward) vs cpu")
    bf16_gradients_vs_cpu(8, 8, "cuda bf16 gradients, group of 4 (blocks of 32) vs cpu")
    # Under torch.use_deterministic_algorithms(True): the deterministic
    # backward (no floating-point atomics), bitwise the same over three
    # runs, and as close to the CPU's as the default one.
    torch.use_deterministic_algorithms(True)
    try:
        runs = [gradients("cuda", (q, k, v, u), dout) for _ in range(3)]
    finally:
        torch.use_deterministic_algorithms(False)
    same = all(torch.equal(a, b) for r in runs[1:] for a, b in zip(runs[0], r))
    ok, worst = within_bf16(runs[0], cpu_grads)
    check("cuda bf16 deterministic gradients: bitwise the same over 3 runs, vs cpu",
          ok and same, f"same bits {same}, max err {worst:.3g}")
    if hasattr(torch.library, "opcheck"):
        q, k, v, u = inputs(1, 2, 2, 8, 8, 16, torch.float32, seed=2)
        q.requires_grad_()
        u.requires_grad_()
        try:
            torch.library.opcheck(torch.ops.sparsek.attention.default,
                                  (q, k, v, u, 4, 8, True, -1.0, "kv"))
            check("torch.library.opcheck (all four tests)", True)
        except Exception as e:  # noqa: BLE001
            check("torch.library.opcheck (all four tests)", False, str(e)[:400])
        # Training's pair in block form (what causal autograd runs).
        try:
            torch.library.opcheck(torch.ops.sparsek.attention_blocks.default,
                                  (q, k, v, u, 4, 8, -1.0, "kv"))
            check("torch.library.opcheck of attention_blocks (all four tests)", True)
        except Exception as e:  # noqa: BLE001
            check("torch.library.opcheck of attention_blocks (all four tests)", False,
                  str(e)[:400])
        q = q.detach()
        u = u.detach()
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
    decode_checks()
    hf_check()
    hf_cache_check()
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


def close_to_reference(out, q, k, v, u, topk, window):
    want = reference.attention(q, k, v, u, topk=topk, window=window)
    err = (out.double().cpu() - want).abs()
    atol, rtol = (1e-5, 1e-4) if q.dtype == torch.float32 else (1e-2, 1e-2)
    return bool((err <= atol + rtol * want.abs()).all()), err.max().item()


def stream_and_graph_checks():
    """The call runs on torch's current stream (ordered after work queued
    there, without a host synchronization) and CUDA graphs capture it."""
    # Ordering: a long sleep, then new inputs, on a side stream; sparsek
    # must read the new inputs, so it must run on that stream after them.
    q, k, v, u = inputs(1, 8, 2, 256, 256, 64, torch.bfloat16, seed=11)
    q2, k2, v2, u2 = inputs(1, 8, 2, 256, 256, 64, torch.bfloat16, seed=12)
    sparsek.attention(q, k, v, u, topk=4, window=64)  # loads the kernel
    torch.cuda.synchronize()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        torch.cuda._sleep(200_000_000)
        for a, b in ((q, q2), (k, k2), (v, v2), (u, u2)):
            a.copy_(b)
        t0 = time.perf_counter()
        out = sparsek.attention(q, k, v, u, topk=4, window=64)
        host_ms = (time.perf_counter() - t0) * 1e3
        res = out.float() * 1  # more work on the stream, after sparsek's
    side.synchronize()
    ok, err = close_to_reference(res, q2, k2, v2, u2, 4, 64)
    check("cuda: runs on torch's current stream, in its order", ok, f"max err {err:.3g}")
    check("cuda: the call returns before the stream's work is done", host_ms < 50,
          f"host time {host_ms:.1f} ms behind a ~100 ms sleep")
    # Graph capture (torch.cuda.graph: a capture-safe side stream, private
    # memory pool); the tensor-core path (bf16, D = 64) and the scalar one
    # (f32, D = 16), replayed on fresh inputs copied into the captured ones.
    for dtype, n, d in ((torch.bfloat16, 1024, 64), (torch.float32, 40, 16)):
        q, k, v, u = inputs(2, 8, 2, n, n, d, dtype, seed=21)
        call = lambda: sparsek.attention(q, k, v, u, topk=4, window=64)  # noqa: E731
        try:
            warm = torch.cuda.Stream()
            warm.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(warm):
                for _ in range(2):
                    call()
            torch.cuda.current_stream().wait_stream(warm)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                out = call()
            ok = True
            errs = []
            for seed in (22, 23):
                fresh = inputs(2, 8, 2, n, n, d, dtype, seed=seed)
                for a, b in zip((q, k, v, u), fresh):
                    a.copy_(b)
                g.replay()
                torch.cuda.synchronize()
                good, err = close_to_reference(out, *fresh, 4, 64)
                ok &= good
                errs.append(err)
            check(f"cuda graph capture + replay ({dtype}, N = {n}, D = {d})", ok,
                  "max err " + ", ".join(f"{e:.3g}" for e in errs))
        except Exception as e:  # noqa: BLE001
            check(f"cuda graph capture + replay ({dtype}, N = {n}, D = {d})", False, str(e)[:300])


def decode_checks():
    """sparsek.decode on the GPU (the decode kernels: bf16, D = 64) against
    the CPU's compiled decoder on the same tokens, every step; a step
    captured in a CUDA graph and replayed; the state's size constant."""
    import sparsek.decode as dec
    b, hq, hkv, d, p, steps = 3, 8, 2, 64, 40, 24
    g = torch.Generator().manual_seed(31)
    q = (torch.rand(b, hq, steps, d, generator=g) * 2 - 1).bfloat16()
    k = (torch.rand(b, hkv, p + steps, d, generator=g) * 2 - 1).bfloat16()
    v = (torch.rand(b, hkv, p + steps, d, generator=g) * 2 - 1).bfloat16()
    u = torch.rand(b, hkv, p + steps, generator=g) * 4 - 2
    lengths = torch.tensor([p, p - 7, 0], dtype=torch.int32)
    outs = {}

    def decode_all(dev, strided=False):
        """Prefill + every step on a fresh state on `dev`; with `strided`,
        key/value rows off 16-byte alignment (row stride D + 1: the CUDA
        step's kernel for general layouts)."""
        st = dec.allocate(b, hkv, d, topk=8, window=16, band_capacity=64,
                          dtype=torch.bfloat16, device=dev)
        if strided:
            pad = torch.zeros(2, b, hkv, 24, d + 1, dtype=torch.bfloat16, device=dev)
            st.keys, st.values = pad[0, ..., :d], pad[1, ..., :d]
        dec.prefill(st, k[:, :, :p].to(dev), v[:, :, :p].to(dev), u[:, :, :p].to(dev),
                    lengths=lengths)
        o = []
        for t in range(steps):
            idx = [int(lengths[i]) + t for i in range(b)]
            pick = lambda x: torch.stack([x[i, :, idx[i]] for i in range(b)]).unsqueeze(2)  # noqa: E731
            o.append(dec.step(st, q[:, :, t:t + 1].to(dev), pick(k).to(dev),
                              pick(v).to(dev), pick(u).to(dev)).float().cpu())
        return torch.cat(o, 2), st

    try:
        outs["cpu"], outs["cuda"] = decode_all("cpu"), decode_all("cuda")
        outs["cuda strided"] = decode_all("cuda", strided=True)
        err = (outs["cuda"][0] - outs["cpu"][0]).abs().max().item()
        same_tau = torch.allclose(outs["cuda"][1].tau.cpu(), outs["cpu"][1].tau, rtol=1e-6)
        check("decode: cuda kernels vs cpu decoder, every step", err < 2e-2 and same_tau,
              f"max err {err:.3g}, thresholds equal: {same_tau}")
        err2 = (outs["cuda strided"][0] - outs["cpu"][0]).abs().max().item()
        check("decode: cuda kernels on a strided state vs cpu decoder", err2 < 2e-2,
              f"max err {err2:.3g}")
        # A captured step, replayed with fresh tokens.
        st = outs["cuda"][1]
        size = st.nbytes
        tq, tk, tv = (torch.randn(b, n, 1, d, device="cuda").bfloat16() for n in (hq, hkv, hkv))
        tu = torch.randn(b, hkv, 1, device="cuda")
        warm = torch.cuda.Stream()
        warm.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(warm):
            dec.step(st, tq, tk, tv, tu)
        torch.cuda.current_stream().wait_stream(warm)
        graph = torch.cuda.CUDAGraph()
        before = st.lengths.clone()
        with torch.cuda.graph(graph):
            gout = dec.step(st, tq, tk, tv, tu)
        for _ in range(5):
            graph.replay()
        torch.cuda.synchronize()
        # Capture runs nothing: the five replays are the five steps.
        grew = (st.lengths.cpu() - before.cpu()).tolist()
        check("decode: a step captured in a CUDA graph replays in place",
              grew == [5, 5, 5] and bool(torch.isfinite(gout.float()).all())
              and st.nbytes == size, f"lengths grew by {grew}")
    except Exception as e:  # noqa: BLE001
        check("decode on cuda", False, str(e)[:300])


def small_llama_config(vocab, hidden, positions):
    """A 2-layer Llama config (4 query / 2 KV heads, SDPA), or None (and a
    SKIP line) without transformers."""
    try:
        from transformers import LlamaConfig
    except ImportError:
        print("SKIP transformers not installed")
        return None
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=positions)
    cfg._attn_implementation = "sdpa"
    return cfg


def hf_check():
    """sparsek.hf.apply on a small random Llama: with a window covering the
    whole sequence SparseK is dense causal attention, so its logits equal
    SDPA's; with a short window, forward and generate run and decoding with
    the model's cache matches a full forward."""
    cfg = small_llama_config(vocab=128, hidden=64, positions=256)
    if cfg is None:
        return
    from transformers import LlamaForCausalLM
    import sparsek.hf as skhf
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).cuda().eval()
    ids = torch.randint(0, 128, (2, 24), device="cuda")
    with torch.no_grad():
        dense = model(ids).logits
        skhf.apply(model, topk=4, window=64)
        sk = model(ids).logits
        err = (sk - dense).abs().max().item()
        check("hf: window >= length equals SDPA", err < 1e-3, f"max err {err:.3g}")
        skhf.apply(model, topk=4, window=8)
        for attn in skhf._layers(model):
            torch.nn.init.normal_(attn.sparsek_scorer.weight, std=0.5)
        full = model(ids).logits
        out = model.generate(ids[:1, :16], max_new_tokens=8, do_sample=False)
        check("hf: generate with sparsek", out.shape == (1, 24), f"shape {tuple(out.shape)}")
        # Greedy decoding step by step against full forwards of the prefix.
        ok = True
        for t in range(16, 24):
            step = model(out[:, :t + 1]).logits[:, -1]
            ok &= bool(torch.isfinite(step).all())
        check("hf: forwards finite", ok and bool(torch.isfinite(full).all()))
        import tempfile, os
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "scorers.pt")
            skhf.save_scorers(model, path)
            w0 = skhf._layers(model)[0].sparsek_scorer.weight.clone()
            torch.nn.init.zeros_(skhf._layers(model)[0].sparsek_scorer.weight)
            skhf.load_scorers(model, path)
            check("hf: scorers save/load", bool(torch.equal(w0, skhf._layers(model)[0].sparsek_scorer.weight)))


def hf_cache_check(new_tokens=int(os.environ.get("SPARSEK_HF_TOKENS", "4096"))):
    """sparsek.hf.SparseKCache on a small random bf16 Llama (head dim 64, the
    pack's k = 8, w = 16): the logits of generate through the cache equal
    those of the layer over the whole generated sequence at once; then peak
    memory over `new_tokens` generated tokens is flat with the SparseKCache
    and grows with the dense DynamicCache."""
    cfg = small_llama_config(vocab=256, hidden=256, positions=new_tokens + 64)
    if cfg is None:
        return
    from transformers import LlamaForCausalLM
    import copy
    import time
    import sparsek.hf as skhf
    torch.manual_seed(1)
    dense = LlamaForCausalLM(copy.deepcopy(cfg)).cuda().bfloat16().eval()
    model = LlamaForCausalLM(cfg).cuda().bfloat16().eval()
    model.load_state_dict(dense.state_dict())
    skhf.apply(model, topk=8, window=16, slope=0.01)
    for attn in skhf._layers(model):
        torch.nn.init.normal_(attn.sparsek_scorer.weight, std=0.5)
    ids = torch.randint(0, 256, (2, 40), device="cuda")
    gen = dict(do_sample=False, output_logits=True, return_dict_in_generate=True)
    try:
        with torch.no_grad():
            cache = skhf.SparseKCache(model, band_capacity=256)
            b = model.generate(ids, max_new_tokens=48, past_key_values=cache, **gen)
            # The same tokens through the layer over the whole sequence at
            # once (sparsek.attention, no cache): every generated position's
            # logits must agree (bf16 tolerance; greedy choices between
            # near-equal logits of a random model may still differ).
            full = model(b.sequences[:, :-1], use_cache=False).logits.float()
            a = model.generate(ids, max_new_tokens=48, **gen)
        got = torch.stack(b.logits, 1).float()
        want = full[:, ids.shape[1] - 1:]
        err = (got - want).abs().max().item()
        scale = want.abs().max().item()
        same = int((a.sequences == b.sequences).all(0).long().cumprod(0).sum()) - ids.shape[1]
        ovf = any(bool(layer.overflowed.any()) for layer in cache.layers)
        check("hf: generate through SparseKCache, logits vs the full-sequence layer",
              err < 2e-2 * max(scale, 1.0),
              f"48 steps x 2 sequences: max logit diff {err:.3g} (max |logit| {scale:.3g}); "
              f"greedy tokens equal to the growing cache's for {same}/48 steps; "
              f"band overflowed: {ovf}")
    except Exception as e:  # noqa: BLE001
        check("hf: generate through SparseKCache", False, repr(e)[:400])
        return

    def peak(m, n, cache_of):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        t0 = time.perf_counter()
        with torch.no_grad():
            out = m.generate(ids[:1, :32], max_new_tokens=n, min_new_tokens=n,
                             do_sample=False, past_key_values=cache_of())
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base, time.perf_counter() - t0,
                out.shape[1])

    try:
        short = max(new_tokens // 8, 64)
        rows = {}
        for name, m, cache_of in (
                ("SparseKCache", model, lambda: skhf.SparseKCache(model, band_capacity=256)),
                ("dense DynamicCache (SDPA)", dense, lambda: None)):
            rows[name] = [peak(m, short, cache_of), peak(m, new_tokens, cache_of)]
            (p0, t0, n0), (p1, t1, n1) = rows[name]
            print(f"  {name}: peak over {short} tokens {p0 / 2**20:.2f} MiB "
                  f"({t0:.1f} s), over {new_tokens} tokens {p1 / 2**20:.2f} MiB "
                  f"({t1:.1f} s, {1e3 * t1 / new_tokens:.2f} ms/token), lengths {n0}, {n1}")
        (s0, _, _), (s1, _, n1) = rows["SparseKCache"]
        (d0, _, _), (d1, _, _) = rows["dense DynamicCache (SDPA)"]
        check(f"hf: SparseKCache memory flat over {new_tokens} generated tokens",
              n1 == 32 + new_tokens and s1 <= s0 * 1.05 + 2**20 and d1 > d0 * 1.5,
              f"sparsek {s0 / 2**20:.2f} -> {s1 / 2**20:.2f} MiB, dense "
              f"{d0 / 2**20:.2f} -> {d1 / 2**20:.2f} MiB")
    except Exception as e:  # noqa: BLE001
        check("hf: SparseKCache memory", False, repr(e)[:400])


if __name__ == "__main__":
    sys.exit(main())
