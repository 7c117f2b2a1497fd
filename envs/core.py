"""The environment protocol every zerogo game implements, and its registry.

The protocol is pgx's: a `State` pytree carrying `current_player`,
`observation`, `rewards [num_players]`, `terminated`, `truncated` and
`legal_action_mask [num_actions]` (True = legal), with pure, jittable
`init(key)`, `step(state, action, key)` and `observe(state)`. Stepping a
finished game is a no-op. Everything downstream (search, training, arenas)
relies on this protocol only.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol

import jax


class Env(Protocol):
  """What `envs.make(name)` returns."""

  id: str
  num_actions: int
  num_players: int
  observation_shape: tuple[int, ...]
  # True for games where search may use the env itself as a perfect model:
  # deterministic, perfect information, two players, zero sum.
  is_perfect_information_two_player: bool

  def init(self, key: jax.Array) -> Any: ...

  def step(self, state: Any, action: jax.Array, key: jax.Array) -> Any: ...

  def observe(self, state: Any, player_id: jax.Array | None = None) -> jax.Array: ...


class UnknownEnvError(ValueError):
  """Raised for a name that is not in the registry."""


@dataclasses.dataclass(frozen=True)
class _Entry:
  factory: Callable[[], Env]
  family: str


_REGISTRY: dict[str, _Entry] = {}


def register(name: str, factory: Callable[[], Env], *, family: str) -> None:
  """Adds an environment constructor under `name` (used by envs/board.py)."""
  if name in _REGISTRY:
    raise ValueError(f"environment {name!r} is registered twice")
  _REGISTRY[name] = _Entry(factory, family)


def list_envs(family: str | None = None) -> list[str]:
  """Names of every registered env, optionally only one family ('board')."""
  return sorted(n for n, e in _REGISTRY.items() if family in (None, e.family))


def check_env_name(name: str) -> None:
  """Raises UnknownEnvError with the list of valid names (no JAX work)."""
  if name not in _REGISTRY:
    raise UnknownEnvError(
        f"unknown game {name!r}; valid names are: {', '.join(list_envs())}")


def make(name: str) -> Env:
  """Returns the environment registered as `name` (e.g. 'connect_four')."""
  check_env_name(name)
  return _REGISTRY[name].factory()
