"""Plots the GPU Breakout-MinAtar PPO sweep (results/ppo_minatar/gpu_sweep.jsonl):
training episode return, mean of the 2 vmapped seeds, against env steps, one line per config.

  python results/scripts/plot_breakout_sweep.py results/ppo_minatar/gpu_sweep.jsonl \
      results/ppo_minatar/gpu_sweep.png
"""

import collections
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plotting import save  # noqa: E402  (beside this script)


def main(src: str, out: str) -> None:
  curves = collections.defaultdict(list)
  for line in open(src):
    r = json.loads(line)
    seeds = [v for k, v in r.items() if k.startswith("seed_")]
    curves[r["run"]].append((r["env_steps"] / 1e6, sum(seeds) / len(seeds)))
  fig, ax = plt.subplots(figsize=(8, 4.5))
  best = max(curves, key=lambda k: [y for x, y in curves[k] if x <= 10.1][-1])
  for name, pts in sorted(curves.items()):
    ax.plot(*zip(*pts), label=name, lw=2.5 if name == best else 1)
  for y in (30, 50):
    ax.axhline(y, color="grey", ls=":", lw=1)
  ax.axvline(2, color="grey", ls=":", lw=1)
  ax.axvline(10, color="grey", ls=":", lw=1)
  ax.set_ylabel("training episode return (mean of 2 seeds)")
  ax.set_title("Breakout-MinAtar, sticky 0.1, PPO sweep on one H100")
  save(fig, [ax], out, "environment steps (millions)", fontsize=7, ncol=2)


if __name__ == "__main__":
  main(*sys.argv[1:3])
