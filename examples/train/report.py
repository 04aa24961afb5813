"""Reads examples/train/run.sh's OUT/<attention>/result.json files and
writes OUT/curves.png (training loss and accuracy of the query section per
step, the three models) and OUT/report.md (accuracy per evaluation length,
training step times, training time).

    python3 examples/train/report.py OUT
"""

import json
import os
import sys


def main(out):
    runs = {}
    for name in ("dense", "window", "sparsek"):
        path = os.path.join(out, name, "result.json")
        if os.path.isfile(path):
            with open(path) as f:
                runs[name] = json.load(f)
    if not runs:
        print(f"report: no result.json under {out}")
        return 1
    lengths = sorted({int(n) for r in runs.values() for n in r["eval"]})
    tlens = sorted({int(n) for r in runs.values() for n in r["step_time"]})
    lines = ["| attention | " + " | ".join(f"accuracy at {n} (pairs beyond the window)"
                                         for n in lengths) +
             " | " + " | ".join(f"step at {n} (ms)" for n in tlens) +
             " | steps | training time (s) |",
             "| --- | " + " | ".join("---:" for _ in lengths + tlens) + " | ---: | ---: |"]
    for name, r in runs.items():
        a = r["args"]
        label = {"dense": "dense (SDPA, causal)",
                 "window": f"window {a['window']} (SDPA, mask)",
                 "sparsek": f"sparsek k {a['topk']} + window {a['window']}"}[name]
        accs = [f"{100 * r['eval'][str(n)]['accuracy']:.1f}% "
                f"({100 * r['eval'][str(n)].get('accuracy_beyond_window', float('nan')):.1f}%)"
                if str(n) in r["eval"] else "" for n in lengths]
        times = [f"{r['step_time'][str(n)]['step_ms']:.1f} (B {r['step_time'][str(n)]['batch']})"
                 if str(n) in r["step_time"] else "" for n in tlens]
        lines.append(f"| {label} | " + " | ".join(accs + times) +
                     f" | {r.get('steps_done', a['steps'])} | {r['train_seconds']:.0f} |")
    some = next(iter(runs.values()))["args"]
    lines.append("")
    lines.append(f"Chance: {100 / some['values']:.2f}% (values drawn from {some['values']}).")
    for name, r in runs.items():
        if r.get("scores"):
            kept = ", ".join(f"layer {s['layer']}: {100 * s['pair_tokens_kept']:.0f}%"
                             for s in r["scores"])
            lines.append(f"SparseK's top-{r['args']['topk']} for the last query of one sequence "
                         f"keeps these shares of the key/value tokens outside its window: {kept}.")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(text)
    print(text)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: no matplotlib, no curves.png")
        return 0
    fig, (l, a) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, r in runs.items():
        steps = [c[0] for c in r["curve"]]
        l.plot(steps, [c[1] for c in r["curve"]], label=name)
        a.plot(steps, [c[2] for c in r["curve"]], label=name)
    l.set_xlabel("step")
    l.set_ylabel("loss (query section)")
    a.set_xlabel("step")
    a.set_ylabel("accuracy (query section, batch)")
    l.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "curves.png"), dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "runs"))
