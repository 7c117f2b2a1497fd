"""Auto-reset and episode statistics, shared by every agent.

Both wrap an env and act on single (unbatched) states; `vmap` them for
batches. Terminal information survives the reset in `StepInfo`, so a caller
can both continue a finished game slot and learn from how the game ended.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp


@chex.dataclass(frozen=True)
class StepInfo:
  """What happened on one auto-reset step (unbatched shapes).

  rewards: [num_players] reward of the step just taken, for every player.
  terminated: [] the game ended by its rules on this step.
  truncated: [] the game was cut off (step limit) on this step.
  """
  rewards: chex.Array
  terminated: chex.Array
  truncated: chex.Array

  @property
  def done(self) -> chex.Array:
    return self.terminated | self.truncated


def tree_select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
  """Elementwise `where` over two pytrees of the same structure (scalar pred)."""
  return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


class AutoReset:
  """`step` returns (next_state, StepInfo); finished games restart at once."""

  def __init__(self, env):
    self.env = env

  def __getattr__(self, name):
    return getattr(self.env, name)

  def init(self, key: jax.Array):
    return self.env.init(key)

  def step(self, state, action: jax.Array, key: jax.Array):
    next_state, info, _ = self.step_with_final(state, action, key)
    return next_state, info

  def step_with_final(self, state, action: jax.Array, key: jax.Array):
    """`step`, plus the state the action led to before any reset (a cut-off
    episode's final observation is what a learner bootstraps from)."""
    step_key, reset_key = jax.random.split(key)
    stepped = self.env.step(state, action, step_key)
    info = StepInfo(rewards=stepped.rewards, terminated=stepped.terminated,
                    truncated=stepped.truncated)
    next_state = tree_select(info.done, self.env.init(reset_key), stepped)
    return next_state, info, stepped


@chex.dataclass(frozen=True)
class EpisodeStats:
  """Running and last-finished episode statistics (unbatched shapes).

  length: [] moves played in the current episode.
  returns: [num_players] summed rewards in the current episode.
  last_length, last_returns: the same for the most recently finished episode.
  finished: [] number of finished episodes so far.
  """
  length: chex.Array
  returns: chex.Array
  last_length: chex.Array
  last_returns: chex.Array
  finished: chex.Array


class RecordEpisodeStatistics:
  """Wraps an AutoReset env; carries `(state, EpisodeStats)` pairs."""

  def __init__(self, env: AutoReset):
    self.env = env

  def __getattr__(self, name):
    return getattr(self.env, name)

  def init(self, key: jax.Array):
    zero_returns = jnp.zeros((self.env.num_players,), jnp.float32)
    stats = EpisodeStats(length=jnp.int32(0), returns=zero_returns,
                         last_length=jnp.int32(0), last_returns=zero_returns,
                         finished=jnp.int32(0))
    return self.env.init(key), stats

  def step(self, carry, action: jax.Array, key: jax.Array):
    state, stats = carry
    state, info = self.env.step(state, action, key)
    length = stats.length + 1
    returns = stats.returns + info.rewards.astype(jnp.float32)
    done = info.done
    stats = EpisodeStats(
        length=jnp.where(done, 0, length),
        returns=jnp.where(done, 0.0, returns),
        last_length=jnp.where(done, length, stats.last_length),
        last_returns=jnp.where(done, returns, stats.last_returns),
        finished=stats.finished + done.astype(jnp.int32))
    return (state, stats), info
