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

import chex
import jax


@chex.dataclass(frozen=True)
class Analysis:
  """An agent's view of a batch of positions. action: [B] int32, the move
  it plays; visits: [B, A] float32, the share of the search's root visits
  per move (the policy's probabilities for an agent without search; sums to
  1 over the legal moves); value: [B] float32, its value estimate in [-1, 1]
  for the player to move (NaN where it has none)."""
  action: chex.Array
  visits: chex.Array
  value: chex.Array


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
  # analyse(params, states[B], key) -> Analysis: what the agent thinks of
  # the position (the web board draws it), where the agent can say.
  analyse: Callable[[Any, Any, jax.Array], Analysis] | None = None

  def act(self, state, key: jax.Array) -> jax.Array:
    """Moves int32[B] for a batch of the env's states."""
    return self.apply(self.params, state, key)
