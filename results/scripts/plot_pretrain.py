"""Accuracy and loss curves of launch/pretrain.py runs (metrics.jsonl).

  python results/scripts/plot_pretrain.py results/pretrain/runs/go7_mlp \
    --out=results/pretrain/curves.png
"""

from __future__ import annotations

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("runs", nargs="+", help="run directories holding metrics.jsonl")
  parser.add_argument("--out", required=True)
  args = parser.parse_args()
  fig, (acc, loss) = plt.subplots(1, 2, figsize=(10, 4))
  for run in args.runs:
    rows = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    name = os.path.basename(run.rstrip("/"))
    steps = [r["iteration"] for r in rows]
    acc.plot(steps, [r["accuracy"] for r in rows], label=f"{name} train")
    loss.plot(steps, [r["policy_loss"] for r in rows], label=f"{name} train policy")
    loss.plot(steps, [r["value_loss"] for r in rows], label=f"{name} train value")
    held = [r for r in rows if "heldout/accuracy" in r]
    acc.plot([r["iteration"] for r in held], [r["heldout/accuracy"] for r in held], "o-",
             label=f"{name} held out")
    loss.plot([r["iteration"] for r in held], [r["heldout/policy_loss"] for r in held], "o-",
              label=f"{name} held-out policy")
    loss.plot([r["iteration"] for r in held], [r["heldout/value_loss"] for r in held], "s-",
              label=f"{name} held-out value")
  acc.set(xlabel="SGD step", ylabel="move-prediction accuracy", ylim=(0, 1))
  loss.set(xlabel="SGD step", ylabel="loss")
  for ax in (acc, loss):
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(args.out, dpi=110)
  print(f"wrote {args.out}")


if __name__ == "__main__":
  main()
