"""Does a model learn to keep the right key/value pairs? Three small
decoder-only models, trained the same way on a long-range retrieval task,
differ only in their attention:

  dense    causal SDPA over every earlier token;
  window   SDPA over the last `--window` tokens only (the cost of SparseK's
           window without its selection);
  sparsek  sparsek.nn.SparseKAttention: the same window plus the `--topk`
           best-scoring earlier tokens, picked by a scorer that learns.

The task (multi-query associative recall in filler, regenerated from a
seed, nothing downloaded): `--pairs` (key, value) token pairs at random
places in a sequence of filler tokens; at its end the keys again, each
followed by its value. The loss counts the values of that query section
only; accuracy is the share of those values predicted exactly (chance:
1 / values), also reported for the queries whose pair is further back than
the window (out of the window model's reach).

Two things make it learnable in minutes (examples/train/README.md): a
token shift before each attention (`--shift`, see Block), so that one
attention layer can match a query's key against the token before a value;
and a curriculum on length (`--curriculum mastery`, the default, or
`stages`; see Curriculum): associative recall's plateau grows with the
sequence length, so training starts at 64 tokens and doubles the length up
to `--seq` once the model masters the current one (tokens per batch stay
`--batch x --seq`). A rotary base of 10^6 (`--rope-theta`, the default)
lets the models answer at 4x the training length. Evaluation always uses
the full lengths and `--pairs` pairs spread over the whole context.

    PYTHONPATH=python python3 examples/train/train.py --attention sparsek \\
        --out runs/sparsek [--steps 3000 --seq 4096 --eval-seq 4096 16384]

writes OUT/result.json (losses, accuracies, step times) and, with
--plot-scores, OUT/scores.png (what the trained scorer keeps for one
evaluation sequence). examples/train/run.sh trains all three and writes
the report's figures. On the GPU the sparsek model needs the package's
CUDA kernels for bf16, its topk and window, with gradients (a kernel pack:
`python -m sparsek.pack --target cuda --dtype bf16 --topk 64 --window 512
--backward`); on the CPU (a smoke test) any sizes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F
from torch import nn

from sparsek.nn import SparseKAttention, rotary

# Token ids: 0 filler-free padding (unused), then filler, keys, values.
FILLER = 64


def vocab(values: int, keys: int) -> int:
    return 1 + FILLER + keys + values


def batch(gen, b, n, pairs, keys, values, device):
    """Sequences [b, n] made on `device` (with `gen`, a generator of that
    device): filler, the pairs at random non-overlapping places among the
    first n - 2 pairs tokens, then the queries (every pair's key then
    value, shuffled) from position `start` = n - 2 pairs on. Returns the
    sequences, `start`, and [b, pairs] each query's distance back to its
    pair's value token."""
    def rand(*shape):
        return torch.rand(*shape, generator=gen, device=device)
    seq = torch.randint(1, 1 + FILLER, (b, n), generator=gen, device=device)
    start = n - 2 * pairs
    rows = torch.arange(b, device=device)[:, None]
    k = rand(b, keys).argsort(1)[:, :pairs] + 1 + FILLER
    v = torch.randint(0, values, (b, pairs), generator=gen, device=device) + 1 + FILLER + keys
    slots = rand(b, start // 2).argsort(1)[:, :pairs] * 2
    seq[rows, slots], seq[rows, slots + 1] = k, v
    order = rand(b, pairs).argsort(1)
    seq[:, start:] = torch.stack([k.gather(1, order), v.gather(1, order)], 2).reshape(b, -1)
    dist = torch.arange(start + 1, n, 2, device=device) - (slots.gather(1, order) + 1)
    return seq, start, dist


class SDPAAttention(nn.Module):
    """Causal (window = 0) or sliding-window (window = w: the query's own
    position and w - 1 earlier ones) attention through SDPA, with the
    SparseK block's projections and rotary positions."""

    def __init__(self, hidden, heads, kv_heads, window=0, rope_theta=10000.0):
        super().__init__()
        self.heads, self.kv_heads, self.d = heads, kv_heads, hidden // heads
        self.window, self.rope_theta = window, rope_theta
        self.q_proj = nn.Linear(hidden, heads * self.d, bias=False)
        self.k_proj = nn.Linear(hidden, kv_heads * self.d, bias=False)
        self.v_proj = nn.Linear(hidden, kv_heads * self.d, bias=False)
        self.o_proj = nn.Linear(heads * self.d, hidden, bias=False)
        self._masks = {}

    def mask(self, n, device):
        key = (n, device)
        if key not in self._masks:
            i = torch.arange(n, device=device)
            d = i[:, None] - i[None, :]
            self._masks = {key: (d >= 0) & (d < self.window)}
        return self._masks[key]

    def forward(self, x, positions=None):
        b, n, _ = x.shape
        pos = torch.arange(n, device=x.device) if positions is None else positions
        q = self.q_proj(x).view(b, n, self.heads, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.kv_heads, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.kv_heads, self.d).transpose(1, 2)
        q, k = rotary(q, pos, self.rope_theta), rotary(k, pos, self.rope_theta)
        rep = self.heads // self.kv_heads
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        mask = self.mask(n, x.device) if self.window else None
        if hasattr(F, "scaled_dot_product_attention"):
            o = (F.scaled_dot_product_attention(q, k, v, attn_mask=mask) if self.window
                 else F.scaled_dot_product_attention(q, k, v, is_causal=True))
        else:  # torch 1.13 (CI's CPU smoke test): the same math, unfused
            s = (q @ k.transpose(-1, -2)) / math.sqrt(self.d)
            allowed = mask if mask is not None else torch.ones(
                n, n, dtype=torch.bool, device=x.device).tril()
            o = s.masked_fill(~allowed, float("-inf")).softmax(-1) @ v
        return self.o_proj(o.transpose(1, 2).reshape(b, n, -1))


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.w


class Block(nn.Module):
    """Pre-norm block: [token shift], attention, gated MLP. The token shift
    (`shift`: the previous token's normalised state through a linear map,
    added to the attention's input, as in RWKV or the short convolutions of
    H3 and Mamba) lets one attention layer match a key against the token
    before a value without first learning a previous-token head."""

    def __init__(self, hidden, attn, mlp, shift=False):
        super().__init__()
        self.n1, self.n2, self.attn = RMSNorm(hidden), RMSNorm(hidden), attn
        self.up = nn.Linear(hidden, 2 * mlp, bias=False)
        self.down = nn.Linear(mlp, hidden, bias=False)
        self.shift = nn.Linear(hidden, hidden, bias=False) if shift else None

    def attn_input(self, x):
        h = self.n1(x)
        if self.shift is not None:
            h = h + self.shift(F.pad(h, (0, 0, 1, 0))[:, :-1])
        return h

    def forward(self, x, positions=None):
        x = x + self.attn(self.attn_input(x), positions)
        a, g = self.up(self.n2(x)).chunk(2, -1)
        return x + self.down(F.silu(g) * a)


class Model(nn.Module):
    def __init__(self, args, n_vocab):
        super().__init__()
        h = args.hidden

        def attn():
            if args.attention == "sparsek":
                return SparseKAttention(h, args.heads, args.kv_heads, topk=args.topk,
                                        window=args.window, gate=args.gate,
                                        rope_theta=args.rope_theta)
            return SDPAAttention(h, args.heads, args.kv_heads,
                                 window=args.window if args.attention == "window" else 0,
                                 rope_theta=args.rope_theta)

        self.emb = nn.Embedding(n_vocab, h)
        self.blocks = nn.ModuleList(Block(h, attn(), 2 * h, args.shift) for _ in range(args.layers))
        self.norm = RMSNorm(h)
        self.head = nn.Linear(h, n_vocab, bias=False)

    def forward(self, ids, positions=None):
        x = self.emb(ids)
        for blk in self.blocks:
            x = blk(x, positions)
        return self.head(self.norm(x))


def loss_and_accuracy(model, ids, start, dist=None, reach=None, positions=None):
    """Loss and accuracy over the query section's values (from `start` on,
    every second token); with `dist` and `reach` also the number of hits
    and of targets whose pair lies `reach` or more tokens back (out of a
    window of `reach`: only selection can find them). Strided slices, no
    boolean indexing: nothing waits for the GPU."""
    logits = model(ids[:, :-1], None if positions is None else positions[:-1])
    pred = logits[:, start::2].float()  # predicts ids[:, start + 1::2]
    tgt = ids[:, start + 1::2]
    loss = F.cross_entropy(pred.flatten(0, 1), tgt.flatten())
    hit = pred.argmax(-1) == tgt
    acc = hit.float().mean()
    if dist is None:
        return loss, acc
    far = dist >= reach
    return loss, acc, (hit & far).sum(), far.sum()


def evaluate(model, args, n, device, amp):
    gen = torch.Generator(device=device).manual_seed(10_000 + n)
    accs, losses, far_hits, far_n = [], [], 0.0, 0
    b = max(1, args.batch * args.seq // n)
    with torch.no_grad(), amp():
        for _ in range(args.eval_batches):
            ids, start, dist = batch(gen, b, n, args.pairs, args.keys, args.values, device)
            loss, acc, fh, fn = loss_and_accuracy(model, ids, start, dist, args.window)
            losses.append(loss.item())
            accs.append(acc.item())
            far_hits += fh.item()
            far_n += int(fn.item())
    return (sum(losses) / len(losses), sum(accs) / len(accs),
            far_hits / far_n if far_n else float("nan"), far_n)


class Curriculum:
    """The training batches' length. `mastery` (the default; runs 77 and 78
    of bench/NOTES.md): 64 tokens, doubled each time the model masters the
    current length (a running mean of the batch accuracy, sampled every 10
    steps, of at least 0.9 after at least 20 steps there), and --seq from
    60% of training whatever happened: a model stays at the short lengths,
    where its steps are quick and the plateau short, until it escapes.
    `stages` (runs 72 and 74): 64 tokens, doubled in equal stages of
    progress over the first half of training, then --seq: a model that has
    not escaped within its stage moves on to a longer plateau.
    Tokens per batch stay --batch x --seq, at most one pair per 8 tokens.
    `none`: --seq throughout."""

    def __init__(self, args):
        self.args = args
        self.lengths = []
        m = 64
        while m < args.seq and args.curriculum != "none":
            self.lengths.append(m)
            m *= 2
        self.n = self.lengths[0] if self.lengths else args.seq
        self.acc, self.steps = 0.0, 0

    def batch_shape(self, progress):
        a = self.args
        if a.curriculum == "stages" and self.lengths:
            self.n = (self.lengths[int(progress / 0.5 * len(self.lengths))]
                      if progress < 0.5 else a.seq)
        elif progress >= 0.6:
            self.n = a.seq
        return self.n, max(1, a.batch * a.seq // self.n), max(1, min(a.pairs, self.n // 8))

    def record(self, acc, steps):
        """The batch accuracy of one step in `steps` (sampled)."""
        if self.args.curriculum != "mastery":
            return
        self.acc = 0.5 * self.acc + 0.5 * acc
        self.steps += steps
        if self.n < self.args.seq and self.steps >= 20 and self.acc >= 0.9:
            self.n = min(2 * self.n, self.args.seq)
            self.acc, self.steps = 0.0, 0


def train_positions(args, n, gen, device):
    """Rotary positions of a training batch: 0..n-1, or with
    --random-positions P > n a sorted random subset of [0, P) (randomized
    positional encodings, Ruoss et al. 2023: relative distances up to P
    while training on n tokens), for batches of at least
    --random-positions-min tokens only (the short curriculum stages keep
    0..n-1: spread over P, their few tokens are hard to match)."""
    if args.random_positions <= n or n < args.random_positions_min:
        return None
    return torch.randperm(args.random_positions, generator=gen,
                          device=device)[:n].sort().values


def step_time(model, opt, args, n, device, amp, reps=5):
    """Seconds of one training step (forward, backward, optimizer) at n."""
    gen = torch.Generator(device=device).manual_seed(1)
    b = max(1, args.batch * args.seq // n)
    ids, start, _ = batch(gen, b, n, args.pairs, args.keys, args.values, device)
    ts = []
    for _ in range(reps + 1):
        sync(device)
        t0 = time.perf_counter()
        with amp():
            loss, _ = loss_and_accuracy(model, ids, start)
        loss.backward()
        opt.zero_grad(set_to_none=True)  # timing only: no update
        sync(device)
        ts.append(time.perf_counter() - t0)
    return sorted(ts[1:])[reps // 2], b


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def plot_scores(model, args, device, amp, path):
    """Layer by layer, the scorer's scores over one evaluation sequence at
    --seq, the pairs' positions marked, and the top-k it keeps for the
    last query."""
    try:
        import matplotlib
    except ImportError:
        print("no matplotlib: scores not plotted")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    gen = torch.Generator(device=device).manual_seed(77)
    ids, ctx, _ = batch(gen, 1, args.seq, args.pairs, args.keys, args.values, device)
    is_pair = (ids[0, :ctx] > FILLER).cpu()
    rows = []
    with torch.no_grad(), amp():
        x = model.emb(ids)
        for blk in model.blocks:
            u = blk.attn.scores(blk.attn_input(x))[0].float().cpu()  # [Hkv, N]
            rows.append(u)
            x = blk(x)
    fig, axes = plt.subplots(len(rows), 1, figsize=(11, 2.2 * len(rows)), squeeze=False)
    stats = []
    for li, (ax, u) in enumerate(zip(axes[:, 0], rows)):
        h = 0
        uc = u[h, :ctx]
        # Keys the last query could select: all but its window.
        reach = max(0, args.seq - args.window)
        top = torch.topk(u[h, :reach], min(args.topk, reach)).indices if reach else torch.tensor([])
        kept = torch.zeros(ctx, dtype=torch.bool)
        kept[top[top < ctx]] = True
        pair_pos = torch.nonzero(is_pair[:reach] if reach < ctx else is_pair).flatten()
        covered = float(kept[pair_pos].float().mean()) if len(pair_pos) else float("nan")
        stats.append({"layer": li, "pair_tokens_kept": covered})
        ax.plot(uc.numpy(), lw=0.4, color="0.5", label="score")
        ax.scatter(pair_pos.numpy(), uc[pair_pos].numpy(), s=8, color="tab:red",
                   label="key/value tokens", zorder=3)
        kp = torch.nonzero(kept).flatten()
        ax.scatter(kp.numpy(), uc[kp].numpy(), s=18, facecolors="none", edgecolors="tab:blue",
                   label=f"top-{args.topk} kept for the last query", zorder=4)
        ax.set_title(f"layer {li}, KV head {h}: {100 * covered:.0f}% of the pair tokens "
                     "outside the window are kept", fontsize=9)
        ax.set_xlim(0, ctx)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("position")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attention", choices=["dense", "window", "sparsek"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--eval-seq", type=int, nargs="*", default=None)
    ap.add_argument("--eval-batches", type=int, default=4)
    ap.add_argument("--pairs", type=int, default=32)
    ap.add_argument("--keys", type=int, default=256)
    ap.add_argument("--values", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--topk", type=int, default=64)
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--gate", default="kv")
    ap.add_argument("--shift", type=int, default=1,
                    help="1: a token shift before each attention (see Block)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--time-seq", type=int, nargs="*", default=[],
                    help="also time a training step at these lengths")
    ap.add_argument("--plot-scores", action="store_true")
    ap.add_argument("--curriculum", choices=["stages", "mastery", "none"], default="mastery",
                    help="on length, from 64 tokens (see Curriculum)")
    ap.add_argument("--rope-theta", type=float, default=1e6,
                    help="rotary base (10^6: the slowest dimensions barely turn over 16K "
                         "tokens, which helps length generalization)")
    ap.add_argument("--random-positions", type=int, default=0,
                    help="P > 0: train with rotary positions drawn from [0, P) (see "
                         "train_positions); evaluation uses 0..n-1")
    ap.add_argument("--random-positions-min", type=int, default=0,
                    help="only batches of at least this many tokens get random positions")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--max-minutes", type=float, default=0,
                    help="stop training after this long (0: no limit); steps_done says where")
    args = ap.parse_args(argv)
    eval_seq = args.eval_seq if args.eval_seq is not None else [args.seq]
    device = torch.device(args.device)
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    gen = torch.Generator(device=device).manual_seed(args.seed)

    model = Model(args, vocab(args.values, args.keys)).to(device)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1,
                            betas=(0.9, 0.95))

    def amp():
        if device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    bar = tqdm(range(args.steps), desc=args.attention, mininterval=5) if tqdm else range(args.steps)
    curve = []
    cur = Curriculum(args)
    t0 = time.perf_counter()
    steps_done = 0
    for step in bar:
        elapsed = time.perf_counter() - t0
        if args.max_minutes and elapsed > 60 * args.max_minutes:
            break
        # Progress in [0, 1]: steps, or the time budget if that runs out first.
        progress = step / args.steps
        if args.max_minutes:
            progress = max(progress, elapsed / (60 * args.max_minutes))
        n, b, pairs = cur.batch_shape(progress)
        lr = args.lr * min(1.0, 20 * progress + 1 / args.steps) * 0.5 * (1 + math.cos(math.pi * progress))
        for g in opt.param_groups:
            g["lr"] = lr
        ids, start, _ = batch(gen, b, n, pairs, args.keys, args.values, device)
        pos = train_positions(args, n, gen, device)
        with amp():
            loss, acc = loss_and_accuracy(model, ids, start, positions=pos)
        if args.curriculum == "mastery" and step % 10 == 0:  # (.item() waits for the GPU)
            cur.record(acc.item(), 10)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        steps_done = step + 1
        if step % args.log_every == 0 or step == args.steps - 1:
            curve.append((step, loss.item(), acc.item(), n, round(time.perf_counter() - t0, 2)))
            msg = f"step {step}: len {n} loss {loss.item():.3f} acc {acc.item():.3f}"
            if tqdm:
                bar.set_postfix_str(msg)
            else:
                print(msg, flush=True)
    sync(device)
    train_s = time.perf_counter() - t0

    model.eval()
    evals = {}
    for n in eval_seq:
        loss, acc, far, far_n = evaluate(model, args, n, device, amp)
        evals[str(n)] = {"loss": loss, "accuracy": acc, "accuracy_beyond_window": far,
                         "targets_beyond_window": far_n}
        print(f"{args.attention}: eval at {n} tokens: loss {loss:.3f} accuracy {acc:.3f}, "
              f"{far:.3f} on the {far_n} queries whose pair is {args.window}+ tokens back",
              flush=True)
    model.train()
    times = {}
    for n in args.time_seq:
        sec, b = step_time(model, opt, args, n, device, amp)
        times[str(n)] = {"step_ms": 1e3 * sec, "batch": b}
        print(f"{args.attention}: training step at {n} tokens x batch {b}: {1e3 * sec:.1f} ms",
              flush=True)
    result = {"attention": args.attention, "args": vars(args), "params": params,
              "train_seconds": train_s, "steps_done": steps_done, "curve": curve, "eval": evals, "step_time": times}
    if args.plot_scores and args.attention == "sparsek":
        model.eval()
        result["scores"] = plot_scores(model, args, device, amp,
                                       os.path.join(args.out, "scores.png"))
    with open(os.path.join(args.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"{args.attention}: {params} parameters, trained {steps_done} steps in "
          f"{train_s:.1f} s", flush=True)
    return result


if __name__ == "__main__":
    main()
