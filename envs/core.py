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
import re
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
# Names built from their parameters (go_NxN at any size): a full regex match,
# the factory called with the name, and how error messages show the family.
_PATTERNS: list[tuple[re.Pattern, Callable[[str], Env], str]] = []


def register(name: str, factory: Callable[[], Env], *, family: str) -> None:
  """Adds an environment constructor under `name` (used by envs/board.py)."""
  if name in _REGISTRY:
    raise ValueError(f"environment {name!r} is registered twice")
  _REGISTRY[name] = _Entry(factory, family)


def register_pattern(pattern: str, factory: Callable[[str], Env], *, shown: str) -> None:
  """Accepts every name that fully matches `pattern` (`factory(name)` builds
  it); `shown` is how error messages list the family, e.g. 'go_NxN (N 2..19)'."""
  _PATTERNS.append((re.compile(pattern), factory, shown))


def _pattern_factory(name: str) -> Callable[[], Env] | None:
  for pattern, factory, _ in _PATTERNS:
    if pattern.fullmatch(name):
      return lambda: factory(name)
  return None


def list_envs(family: str | None = None) -> list[str]:
  """Names of every registered env, optionally only one family ('board')."""
  return sorted(n for n, e in _REGISTRY.items() if family in (None, e.family))


def check_env_name(name: str) -> None:
  """Raises UnknownEnvError with the list of valid names (no JAX work)."""
  if name not in _REGISTRY and _pattern_factory(name) is None:
    names = list_envs() + [shown for *_, shown in _PATTERNS]
    raise UnknownEnvError(f"unknown game {name!r}; valid names are: {', '.join(names)}")


def make(name: str) -> Env:
  """Returns the environment registered as `name` (e.g. 'connect_four')."""
  check_env_name(name)
  if name in _REGISTRY:
    return _REGISTRY[name].factory()
  return _pattern_factory(name)()
