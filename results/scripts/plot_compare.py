"""Overlays several runs' metrics.jsonl: value and policy loss per iteration
(running mean over 25 iterations), and every evaluation win rate against
UCT as points. `--minutes` puts training minutes (train_s) on the x axis
instead of iterations, to compare recipes whose iterations cost differently.

  python results/scripts/plot_compare.py results/alphazero_connect_four/torsos.png \\
      mlp=results/alphazero_connect_four/runs/mlp/metrics.jsonl \\
      patch_mlp=results/alphazero_connect_four/runs/mlp_patch/metrics.jsonl

results/alphazero_connect_four/README.md gives the commands of its figures.
"""

import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from zerogo import metrics  # noqa: E402  (the repository root, as the launchers do)
from plotting import save  # noqa: E402  (beside this script)


def smooth(values, window: int = 25):
  out, total = [], 0.0
  for i, v in enumerate(values):
    total += v - (values[i - window] if i >= window else 0.0)
    out.append(total / min(i + 1, window))
  return out


def main(out: str, *runs: str, minutes: bool = False) -> None:
  fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
  for spec in runs:
    label, path = spec.split("=", 1)
    rows = metrics.read_jsonl(path)
    it = [r["train_s"] / 60 if minutes else r["iteration"] for r in rows]
    line, = axes[0].plot(it, smooth([r["value_loss"] for r in rows]), label=label, alpha=0.8)
    axes[1].plot(it, smooth([r["policy_loss"] for r in rows]), label=label, alpha=0.8,
                 color=line.get_color())
    pts = [(x, r["eval/uct_win_rate"]) for x, r in zip(it, rows) if "eval/uct_win_rate" in r]
    if pts:
      axes[2].plot(*zip(*pts), marker="o", label=label, color=line.get_color())
  titles = ("value loss (mean of 25)", "policy loss (mean of 25)", "win rate vs UCT (64 games)")
  for ax, title in zip(axes, titles):
    ax.set_title(title)
  axes[2].set_ylim(0, 1.02)
  save(fig, axes, out, "training minutes" if minutes else "iteration", fontsize=8)


if __name__ == "__main__":
  args = sys.argv[1:]
  main(*[a for a in args if a != "--minutes"], minutes="--minutes" in args)
