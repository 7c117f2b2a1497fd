"""Tables and the plot of results/rlhf/README.md from the runs of run_all.sh.

  python results/rlhf/report.py RUNS_DIR [--plot results/rlhf/cartpole.png]

Reads RUNS_DIR/<group>/seed_<s>/metrics.jsonl; with checkpoints present,
also plays 32 greedy CartPole episodes per run and measures the mean
|cart x| over the steps the pole was up (the beyond-reward task's metric).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def read(path):
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def interval(values):
  """mean and the half-width of a 95% t-interval (n <= 5 seeds)."""
  values = np.asarray(values, float)
  t = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78}.get(len(values), 1.96)
  half = t * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
  return values.mean(), half


def curves(runs, group):
  """{env_steps: [eval return per seed]}, labels at each eval point."""
  out, labels = {}, {}
  for path in sorted(glob.glob(os.path.join(runs, group, "seed_*", "metrics.jsonl"))):
    for row in read(path):
      if "eval/episode_return" in row:
        out.setdefault(row["env_steps"], []).append(row["eval/episode_return"])
        if "labels_used" in row:
          labels.setdefault(row["env_steps"], []).append(row["labels_used"])
  return out, labels


def cart_distance(workdir, episodes=32):
  """Mean |cart x| of the greedy policy over the steps the pole was up."""
  import jax
  import jax.numpy as jnp

  import agents
  agent = agents.load_agent(workdir)
  env = agent.env

  @jax.jit
  def play(key):
    states = jax.vmap(env.init)(jax.random.split(key, episodes))

    def step(carry, t):
      s, total, count = carry
      alive = ~(s.terminated | s.truncated)
      total = total + jnp.where(alive, jnp.abs(s.observation[:, 0]), 0.0).sum()
      count = count + alive.sum()
      s = jax.vmap(env.step)(s, agent.apply(agent.params, s, key),
                             jax.random.split(jax.random.fold_in(key, t), episodes))
      return (s, total, count), None

    (_, total, count), _ = jax.lax.scan(step, (states, 0.0, 0), jnp.arange(500))
    return total / count
  return float(play(jax.random.PRNGKey(123)))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("runs")
  parser.add_argument("--plot", default=None)
  args = parser.parse_args()
  groups = sorted(os.path.basename(g) for g in glob.glob(os.path.join(args.runs, "*")))
  ppo, _ = curves(args.runs, "ppo_true_reward")
  print("| run | seeds | labels | eval return at 100k | at 200k | at 300k (final) | "
        "final / PPO's |")
  print("| --- | --- | --- | --- | --- | --- | --- |")
  for group in groups:
    points, labels = curves(args.runs, group)
    if not points:
      continue
    cells = []
    for steps in (102400, 204800, max(points)):
      near = min(points, key=lambda s: abs(s - steps))
      mean, half = interval(points[near])
      cells.append(f"{mean:.0f} +- {half:.0f}")
    final = max(points)
    ratio = (np.mean(points[final]) / np.mean(ppo[max(ppo)])) if ppo else float("nan")
    used = int(max(labels[final])) if labels else 0
    print(f"| {group} | {len(points[final])} | {used} | {' | '.join(cells)} | {ratio:.2f} |")

  distances = {}
  for group in ("ppo_true_reward", "rlhf_active", "rlhf_centre"):
    values = []
    for workdir in sorted(glob.glob(os.path.join(args.runs, group, "seed_*"))):
      if os.path.isdir(os.path.join(workdir, "checkpoints")):
        values.append(cart_distance(workdir))
    if values:
      distances[group] = values
  if distances:
    print("\n| run | mean greedy |cart x| per seed | mean |")
    print("| --- | --- | --- |")
    for group, values in distances.items():
      print(f"| {group} | {', '.join(f'{v:.3f}' for v in values)} | {np.mean(values):.3f} |")

  if args.plot:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2))
    labels_axis = ax.twinx()
    for group, colour in (("ppo_true_reward", "black"), ("rlhf_active", "tab:blue"),
                          ("rlhf_random", "tab:orange"), ("rlhf_noisy10", "tab:red")):
      points, labels = curves(args.runs, group)
      if not points:
        continue
      steps = sorted(points)
      mean = np.array([np.mean(points[s]) for s in steps])
      low = np.array([np.min(points[s]) for s in steps])
      high = np.array([np.max(points[s]) for s in steps])
      ax.plot(steps, mean, color=colour, label=group)
      ax.fill_between(steps, low, high, color=colour, alpha=0.15)
      if labels and group == "rlhf_active":
        labels_axis.plot(sorted(labels), [np.mean(labels[s]) for s in sorted(labels)],
                         color="tab:green", linestyle="--", label="labels used")
    ax.set_xlabel("env steps")
    ax.set_ylabel("greedy return (32 episodes; mean, min-max over seeds)")
    labels_axis.set_ylabel("labels used", color="tab:green")
    labels_axis.set_ylim(0, 1050)
    ax.set_ylim(0, 520)
    ax.legend(loc="lower right")
    ax.set_title("CartPole-v1: PPO on the true reward vs on 1,000 rankings")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=110)


if __name__ == "__main__":
  main()
