"""On-device replay of trajectories, sampled as fixed-length segments
(MuZero's unroll plus its n-step value horizon).

One ring per env slot, column-major like `zerogo.replay`: every leaf is
[B, T, ...] (B slots, sharded over devices; T rows per slot) and all slots
write the same row each step. A row is one step: the observation, the
action taken from it, the mover's reward for that action and whether the
episode ended with it. Rows of consecutive episodes follow each other in a
slot's ring; a segment that crosses an episode end is cut there by the
target computation (`done`), not by the sampler, so no row is wasted.

A segment is `length` consecutive rows of one slot, all already written.
Each slot draws the same number of segments with a key derived from its
global index, so the global batch does not depend on the device count.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


@chex.dataclass(frozen=True)
class SegmentReplay:
  """observation: [B, T, *obs_shape] (the env's dtype).
  action: [B, T] int32 action taken from the row's observation.
  reward: [B, T] float32 the mover's reward for that action.
  value_reward: [B, T] float32 what value targets see as that reward: the
    reward, plus discount x the value of the final observation when a time
    limit cut the episode off there (the episode did not end; its future
    is bootstrapped, as PPO's GAE does).
  done: [B, T] bool the episode ended with that action (terminated or cut off).
  policy: [B, T, A] float32 search policy at the row (the policy target).
  legal: [B, T, A] bool legal actions at the row (reanalyse searches them).
  written: [B] int32 rows written so far (equal across slots).
  """
  observation: chex.Array
  action: chex.Array
  reward: chex.Array
  value_reward: chex.Array
  done: chex.Array
  policy: chex.Array
  legal: chex.Array
  written: chex.Array


@chex.dataclass(frozen=True)
class Segments:
  """[B, per_slot, length, ...] windows of each leaf, and valid [B, per_slot]
  (False where the slot held fewer than `length` rows: weight 0)."""
  observation: chex.Array
  action: chex.Array
  reward: chex.Array
  value_reward: chex.Array
  done: chex.Array
  policy: chex.Array
  legal: chex.Array
  valid: chex.Array


def init(num_slots: int, rows: int, observation_shape, observation_dtype,
         num_actions: int) -> SegmentReplay:
  shape = (num_slots, rows)
  return SegmentReplay(
      observation=jnp.zeros(shape + tuple(observation_shape), observation_dtype),
      action=jnp.zeros(shape, jnp.int32),
      reward=jnp.zeros(shape, jnp.float32),
      value_reward=jnp.zeros(shape, jnp.float32),
      done=jnp.zeros(shape, bool),
      policy=jnp.zeros(shape + (num_actions,), jnp.float32),
      legal=jnp.zeros(shape + (num_actions,), bool),
      written=jnp.zeros((num_slots,), jnp.int32))


def add(buffer: SegmentReplay, *, observation, action, reward, done, policy, legal,
        value_reward=None) -> SegmentReplay:
  """Writes one step per slot (leading axis B) at the next row
  (`value_reward` defaults to `reward`)."""
  value_reward = reward if value_reward is None else value_reward
  row = buffer.written[0] % buffer.action.shape[1]
  put = lambda column, value: column.at[:, row].set(value.astype(column.dtype))
  return SegmentReplay(
      observation=put(buffer.observation, observation), action=put(buffer.action, action),
      reward=put(buffer.reward, reward), value_reward=put(buffer.value_reward, value_reward),
      done=put(buffer.done, done),
      policy=put(buffer.policy, policy), legal=put(buffer.legal, legal),
      written=buffer.written + 1)


def sample(buffer: SegmentReplay, slot_keys, per_slot: int, length: int) -> Segments:
  """`per_slot` segments of `length` rows from every slot, start drawn
  uniformly among the segments wholly written (with replacement)."""
  rows = buffer.action.shape[1]
  written = buffer.written[0]
  filled = jnp.minimum(written, rows)
  oldest = jnp.where(written > rows, written % rows, 0)
  starts_available = filled - length + 1
  starts = jax.vmap(lambda key: jax.random.randint(
      key, (per_slot,), 0, jnp.maximum(starts_available, 1)))(slot_keys)  # [B, per_slot]
  index = (oldest + starts[..., None] + jnp.arange(length)) % rows      # [B, per_slot, L]

  def take(x):
    flat = index.reshape(index.shape[0], -1)
    got = jnp.take_along_axis(x, flat.reshape(flat.shape + (1,) * (x.ndim - 2)), axis=1)
    return got.reshape(index.shape + x.shape[2:])

  valid = jnp.broadcast_to(starts_available > 0, starts.shape)
  return Segments(observation=take(buffer.observation), action=take(buffer.action),
                  reward=take(buffer.reward), value_reward=take(buffer.value_reward),
                  done=take(buffer.done),
                  policy=take(buffer.policy), legal=take(buffer.legal), valid=valid)


def fill_fraction(buffer: SegmentReplay) -> jax.Array:
  return jnp.minimum(buffer.written[0], buffer.action.shape[1]) / buffer.action.shape[1]
