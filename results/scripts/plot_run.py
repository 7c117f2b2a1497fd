"""Plots a run's metrics.jsonl: losses, game length and evaluation win rates.

  python results/scripts/plot_run.py results/alphazero_connect_four/runs/conv/metrics.jsonl \
      results/alphazero_connect_four/conv.png
"""

import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from zerogo import metrics  # noqa: E402  (the repository root, as the launchers do)
from plotting import save  # noqa: E402  (beside this script)


def main(src: str, out: str) -> None:
  rows = metrics.read_jsonl(src)
  it = [r["iteration"] for r in rows]
  rates = sorted({k for r in rows for k in r if k.endswith("_win_rate")})
  fig, axes = plt.subplots(1, 3 if rates else 2, figsize=(14 if rates else 10, 3.8))
  # Every loss the run logged (auxiliary heads too), in the order trained.
  for key in [k for k in rows[-1] if k.endswith("_loss")]:
    axes[0].plot(it, [r.get(key, float("nan")) for r in rows], label=key)
  axes[0].set_title("losses")
  axes[1].plot(it, [r["game_length"] for r in rows])
  axes[1].set_title("self-play game length (moves)")
  for key in rates:
    pts = [(r["iteration"], r[key]) for r in rows if key in r]
    axes[2].plot(*zip(*pts), marker="o", label=key.split("/")[-1])
  if rates:
    axes[2].set_ylim(0, 1.02)
    axes[2].set_title("evaluation win rate")
  save(fig, axes, out, "iteration")


if __name__ == "__main__":
  main(*sys.argv[1:3])
