#!/usr/bin/env python3
"""How far the selection's per-query threshold searches look (a study, not a
test; runs on the CPU with Debian's /usr/bin/python3 and numpy).

The GPU selection (docs/design/GPUSelection.md) finds, for every query, the
first rank of the row's sorted scores where f(z) <= k (family 0) and where
f(z - 1) <= k (family 1), searching only between the answers of the samples
(every 32nd query) around it. This prints, for one row of scores:
  - the search's halvings per query, floor(log2(longest bracket)) + 1
    (0 when both brackets are empty: the final solve alone);
  - the ranks between consecutive samples' answers (both families), which is
    what a block walk (a block's queries walking forward across the
    breakpoints in rank order) would cross.

    /usr/bin/python3 bench/selection_brackets.py M normal|uniform|two|equal|slope
"""
import sys

import numpy as np

K, W, STRIDE = 256, 512, 32


def scores(m, kind, rng):
    if kind == "normal":
        return rng.standard_normal(m).astype(np.float32)
    if kind == "uniform":
        return rng.uniform(-1, 1, m).astype(np.float32)
    if kind == "two":
        return rng.integers(0, 2, m).astype(np.float32)
    if kind == "equal":
        return np.full(m, 0.75, np.float32)
    if kind == "slope":  # later keys dominate
        return (np.arange(m) * 1e-3 + rng.standard_normal(m) * 0.1).astype(np.float32)
    raise SystemExit(f"unknown score kind {kind}")


def tau(z, k):
    """SPARSEK threshold of the scores z (float64), the smallest solution."""
    if len(z) <= k:
        return -np.inf
    bps = np.unique(np.concatenate([z, z - 1]))
    f = lambda t: np.clip(z - t, 0, 1).sum()
    lo, hi = 0, len(bps) - 1
    while lo < hi:  # the first breakpoint with f <= k
        mid = (lo + hi) // 2
        if f(bps[mid]) <= k:
            hi = mid
        else:
            lo = mid + 1
    hi_t = bps[lo]
    if lo == 0 or f(hi_t) == k:
        return hi_t
    lo_t = bps[lo - 1]
    fl, fh = f(lo_t), f(hi_t)
    return lo_t + (fl - k) * (hi_t - lo_t) / (fl - fh)


def main():
    m, kind = int(sys.argv[1]), sys.argv[2]
    u = scores(m, kind, np.random.default_rng(1)).astype(np.float64)
    srt = np.sort(u)
    cand = np.clip(np.arange(m) - W + 1, 0, m)  # N = M: query i's candidates
    samples = list(range(0, m, STRIDE)) + [m - 1]
    t = {q: tau(u[: cand[q]], K) for q in samples}
    fam0 = lambda x: np.searchsorted(srt, x, side="left")  # first z >= t
    fam1 = lambda x: np.searchsorted(srt, x + 1, side="left")  # first z - 1 >= t
    halvings, crossings = [], []
    for s, e in zip(samples, samples[1:]):
        if t[s] == -np.inf:
            continue
        l0, l1 = fam0(t[e]) - fam0(t[s]), fam1(t[e]) - fam1(t[s])
        longest = max(l0, l1)
        halvings += [int(np.floor(np.log2(longest))) + 1 if longest else 0] * (e - s)
        crossings.append(l0 + l1)
    h, c = np.array(halvings), np.array(crossings)
    print(f"{kind} M {m}: {len(h)} queries with finite thresholds; halvings per "
          f"query mean {h.mean():.2f}, median {np.median(h):.0f}, p90 "
          f"{np.percentile(h, 90):.0f}, max {h.max()}")
    print(f"  ranks crossed per block of {STRIDE} queries: mean {c.mean():.1f}, "
          f"median {np.median(c):.0f}, p99 {np.percentile(c, 99):.0f}, max "
          f"{c.max()}, total {c.sum()}")


if __name__ == "__main__":
    main()
