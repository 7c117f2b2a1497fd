"""MuZero against PPO on Breakout-MinAtar: training episode return against
env steps (left) and against training seconds (right), from metrics.jsonl.

  python results/scripts/plot_muzero_breakout.py results/muzero/breakout.png \\
      --max_steps=700000 muzero=results/muzero/runs/brk_cpu/metrics.jsonl \\
      ppo_s0=results/ppo_minatar/runs/gae09_s0/metrics.jsonl ...
"""

import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from zerogo import metrics  # noqa: E402  (the repository root, as the launchers do)


def main(out: str, *runs: str) -> None:
  max_steps = float("inf")
  if runs and runs[0].startswith("--max_steps="):
    max_steps, runs = float(runs[0].split("=")[1]), runs[1:]
  fig, (by_steps, by_time) = plt.subplots(1, 2, figsize=(11, 4))
  for spec in runs:
    name, path = spec.split("=", 1)
    rows = [r for r in metrics.read_jsonl(path)
            if "episode_return" in r and r["env_steps"] <= max_steps]
    style = dict(label=name, marker="." if len(rows) < 30 else None)
    by_steps.plot([r["env_steps"] for r in rows], [r["episode_return"] for r in rows], **style)
    by_time.plot([r["train_s"] for r in rows], [r["episode_return"] for r in rows], **style)
  by_steps.set_ylabel("training episode return")
  by_time.set_xlabel("training seconds (compilation included)")
  by_steps.set_xlabel("env steps")
  for ax in (by_steps, by_time):
    ax.grid(alpha=0.3)
  by_time.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(out, dpi=90)


if __name__ == "__main__":
  main(*sys.argv[1:])
