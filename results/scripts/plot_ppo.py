"""Plots a PPO run's metrics.jsonl against environment steps: training
episode return (every seed), greedy evaluation, entropy.

  python results/scripts/plot_ppo.py results/ppo_connect_four/runs/connect_four_ppo/metrics.jsonl \
      results/ppo_connect_four/curves.png

Several runs side by side (training return averaged over seeds, greedy
evaluation, entropy), one colour per run:

  python results/scripts/plot_ppo.py --compare results/ppo_minatar/mirror.png \
      "no mirror=results/ppo_minatar/runs/mlp/metrics.jsonl" \
      "mirror=results/ppo_minatar/runs/mirror/metrics.jsonl"

results/ppo_minatar/README.md gives the commands of its figures.
"""

import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from zerogo import metrics  # noqa: E402  (the repository root, as the launchers do)
from plotting import save  # noqa: E402  (beside this script)


def _curve(rows, key):
  """(env steps in millions, values) of the rows that log `key`."""
  return tuple(zip(*[(r["env_steps"] / 1e6, r[key]) for r in rows if key in r]))


def main(src: str, out: str) -> None:
  rows = metrics.read_jsonl(src)
  fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
  returns = sorted({k for r in rows for k in r if k.startswith("episode_return")}) or []
  for key in returns:
    axes[0].plot(*_curve(rows, key), label=key, lw=1 if "seed" in key else 2)
  axes[0].set_title("training episode return")
  evals = sorted({k for r in rows for k in r if k.startswith("eval/") and "seed" not in k})
  for key in evals:
    axes[1].plot(*_curve(rows, key), marker="o", label=key.split("/")[-1])
  axes[1].set_title("greedy evaluation")
  axes[2].plot(*_curve(rows, "entropy"))
  axes[2].set_title("policy entropy")
  save(fig, axes, out, "environment steps (millions)")


def compare(out: str, *runs: str) -> None:
  fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
  for run in runs:
    label, _, src = run.partition("=")
    if not src:
      sys.exit(f"{run!r}: runs are given as LABEL=METRICS_JSONL")
    rows = metrics.read_jsonl(src)
    color = axes[0].plot(*_curve(rows, "episode_return"), label=label)[0].get_color()
    if any("eval/episode_return" in r for r in rows):
      axes[1].plot(*_curve(rows, "eval/episode_return"), marker="o", color=color, label=label)
    axes[2].plot(*_curve(rows, "entropy"), color=color, label=label)
  for ax, title in zip(axes, ("training episode return (mean over seeds)",
                              "greedy evaluation (mean over seeds)", "policy entropy")):
    ax.set_title(title)
  save(fig, axes, out, "environment steps (millions)")

if __name__ == "__main__":
  if sys.argv[1:2] == ["--compare"]:
    compare(*sys.argv[2:])
  else:
    main(*sys.argv[1:3])
