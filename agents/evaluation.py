"""Periodic evaluation during training, the same for every algorithm.

Two-player games: win rate and score of the current parameters against a
random player and a random-rollout UCT player. One-player games: the mean
greedy return. Runs with several vmapped seeds (PPO's --num_seeds) report
the mean over seeds and each seed as `name/seed_i`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np

from agents import baselines
from zerogo import arena
from zerogo.agent import Agent


def with_seeds(rows: dict[str, list[float]]) -> dict[str, float]:
  """{name: [per seed]} -> name (mean over seeds) and name/seed_i."""
  out = {}
  for name, values in rows.items():
    out[name] = float(np.mean(values))
    if len(values) > 1:
      out.update({f"{name}/seed_{i}": v for i, v in enumerate(values)})
  return out


class Evaluator:
  """`evaluate(params, updates_done) -> {"eval/...": float}`.

  `agent`: the trained player with any params (they are replaced);
  `stacked_seeds`: None when params are one agent's, N when they carry a
  leading axis of N seeds. Keys: seed s uses PRNGKey(seed + 7919 (s + 1))
  with the update folded in, then the opponent's index.
  """

  def __init__(self, agent: Agent, *, seed: int, games: int, uct_simulations: int,
               stacked_seeds: int | None = None):
    self.agent, self.seed, self.games = agent, seed, games
    self.stacked_seeds = stacked_seeds
    env = agent.env
    self.two_player = env.num_players == 2
    self.opponents = [baselines.random_agent(env)]
    if uct_simulations > 0:
      self.opponents.append(baselines.uct_agent(env, uct_simulations))

  def _one_seed(self, params: Any, key: jax.Array) -> dict[str, float]:
    agent = dataclasses.replace(self.agent, params=params)
    if not self.two_player:
      returns = jax.device_get(arena.episodes(agent, key, self.games)[0])
      return {"eval/episode_return": float(np.mean(returns))}
    out = {}
    for i, opponent in enumerate(self.opponents):
      result = arena.play_match(agent, opponent, jax.random.fold_in(key, i),
                                self.games).summary()
      name = opponent.name.split(":")[0]
      out[f"eval/{name}_win_rate"] = result["wins"] / result["games"]
      out[f"eval/{name}_score"] = result["score"]
    return out

  def __call__(self, params: Any, updates_done: int) -> dict[str, float]:
    rows: dict[str, list[float]] = {}
    for s in range(self.stacked_seeds or 1):
      p = params if self.stacked_seeds is None else jax.tree.map(lambda x: x[s], params)
      key = jax.random.fold_in(jax.random.PRNGKey(self.seed + 7919 * (s + 1)), updates_done)
      for name, value in self._one_seed(p, key).items():
        rows.setdefault(name, []).append(value)
    return with_seeds(rows)

