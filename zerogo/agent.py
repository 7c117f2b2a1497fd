"""Playable agents: the one interface tournaments, GTP, play, the web board
and evaluation use, whatever algorithm trained the agent.

An Agent is a pure batched policy `apply(params, states[B], key) -> int32[B]`
plus its params, so matches can pass params as jit arguments; `act(states,
key)` is the same with the agent's own params bound. The algorithms build
them (`agents.search_agent`, `agents.policy_agent`) and load them from
checkpoints (`agents.load_agent`); this module knows none of them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax


@dataclasses.dataclass(frozen=True, eq=False)
class Agent:
  name: str
  env_id: str
  env: Any
  apply: Callable[[Any, Any, jax.Array], jax.Array]
  params: Any = ()
  num_simulations: int | None = None
  # value(params, states[B]) -> float32[B] in [-1, 1] for the player to
  # move, where the agent has a value estimate (GTP resigns on it).
  value: Callable[[Any, Any], jax.Array] | None = None

  def act(self, state, key: jax.Array) -> jax.Array:
    """Moves int32[B] for a batch of the env's states."""
    return self.apply(self.params, state, key)
