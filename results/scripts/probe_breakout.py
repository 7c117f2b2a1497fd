"""Greedy play of a PPO MinAtar checkpoint with and without sticky actions:
mean return, best episode, mean length and the share of episodes cut off by
the time limit (gymnax: 1000 steps), either a ball looping without hitting
bricks or an agent that survives the whole game (then its best is the cap).

  python results/scripts/probe_breakout.py runs/breakout [--seed_index=1] [--episodes=64]

(results/ppo_minatar/README.md: greedy play with and without sticky actions.)
"""

import dataclasses
import os
import sys

import jax
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import agents  # noqa: E402  (the repository root, as the launchers do)
from envs import minatar  # noqa: E402
from zerogo import arena  # noqa: E402
from zerogo.checkpoint import CheckpointError  # noqa: E402

flags.DEFINE_integer("seed_index", 0, "Which agent of a --num_seeds run.")
flags.DEFINE_integer("episodes", 64, "Episodes per sticky-action setting.")
FLAGS = flags.FLAGS


def probe(agent, sticky: float, episodes: int) -> dict:
  env = minatar.make(agent.env_id, sticky)
  total, length, truncated = arena.episodes(
      dataclasses.replace(agent, env=env), jax.random.PRNGKey(0), episodes)
  return {"return": float(total.mean()), "best": float(total.max()),
          "length": float(length.mean()), "cut_off": float(truncated.mean())}


def main(argv):
  if len(argv) != 2:
    sys.exit("usage: python results/scripts/probe_breakout.py CHECKPOINT [--seed_index=N]")
  if FLAGS.episodes < 1:
    sys.exit(f"--episodes must be at least 1, got {FLAGS.episodes}")
  try:
    agent = agents.load_agent(argv[1], seed_index=FLAGS.seed_index)
  except (CheckpointError, ValueError) as e:
    sys.exit(str(e))
  if agent.env_id not in minatar.GAMES:
    sys.exit(f"{argv[1]} holds a {agent.env_id} agent, not a MinAtar one")
  for sticky in (0.0, 0.1):
    r = probe(agent, sticky, FLAGS.episodes)
    print(f"sticky {sticky}: greedy return {r['return']:.1f} (best {r['best']:.0f}), "
          f"length {r['length']:.0f}, cut off at the time limit {r['cut_off']:.0%}")


if __name__ == "__main__":
  app.run(main)
