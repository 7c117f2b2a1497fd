"""On-device replay of self-play positions, one ring per game slot.

Layout is column-major: every leaf has shape [B, T, ...] where B is the
number of game slots (sharded over devices) and T the rows kept per slot.
All slots write the same row each move, so the write cursor is one number.
A position's value target is only known when its game ends; `backfill`
writes it into every row of that game still in the ring, and only rows with
a target are ever sampled. Games therefore run across iterations and no
position is lost to an iteration boundary.

Sampling draws a fixed number of rows per slot with a key derived from the
slot's global index, so the sampled global batch is identical however the
slots are spread over devices.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


@chex.dataclass(frozen=True)
class ReplayBuffer:
  """observation: [B, T, *obs_shape] (the env's dtype, often bool)
  policy: [B, T, A] search policy target.
  to_play: [B, T] int32 player to move at the position.
  episode: [B, T] int32 episode number of the slot the row belongs to; -1 empty.
  value: [B, T] float32 game result from `to_play`'s side (valid if has_target).
  search_value: [B, T] float32 the search's root value, from `to_play`'s side.
  has_target: [B, T] bool.
  cursor: [B] int32 next row to write (equal across slots).
  """
  observation: chex.Array
  policy: chex.Array
  to_play: chex.Array
  episode: chex.Array
  value: chex.Array
  search_value: chex.Array
  has_target: chex.Array
  cursor: chex.Array


@chex.dataclass(frozen=True)
class Batch:
  """observation: [N, *obs_shape]; policy: [N, A]; value: [N] game result;
  search_value: [N] root search value; weight: [N]; reply_policy: [N, A] the
  search policy at the next position of the same game (the opponent's
  reply), all zeros where that position is not in the ring (the game's last
  position, or the newest row)."""
  observation: chex.Array
  policy: chex.Array
  value: chex.Array
  search_value: chex.Array
  weight: chex.Array
  reply_policy: chex.Array


def init(num_slots: int, rows: int, observation_shape, observation_dtype,
         num_actions: int) -> ReplayBuffer:
  shape = (num_slots, rows)
  return ReplayBuffer(
      observation=jnp.zeros(shape + tuple(observation_shape), observation_dtype),
      policy=jnp.zeros(shape + (num_actions,), jnp.float32),
      to_play=jnp.zeros(shape, jnp.int32),
      episode=jnp.full(shape, -1, jnp.int32),
      value=jnp.zeros(shape, jnp.float32),
      search_value=jnp.zeros(shape, jnp.float32),
      has_target=jnp.zeros(shape, bool),
      cursor=jnp.zeros((num_slots,), jnp.int32))


def add(buffer: ReplayBuffer, observation, policy, to_play, episode,
        search_value) -> ReplayBuffer:
  """Writes one position per slot (leading axis B) at the cursor row."""
  row = buffer.cursor[0]
  put = lambda column, value: column.at[:, row].set(value)
  return buffer.replace(
      observation=put(buffer.observation, observation.astype(buffer.observation.dtype)),
      policy=put(buffer.policy, policy),
      to_play=put(buffer.to_play, to_play),
      episode=put(buffer.episode, episode),
      value=put(buffer.value, 0.0),
      search_value=put(buffer.search_value, search_value.astype(jnp.float32)),
      has_target=put(buffer.has_target, False),
      cursor=(buffer.cursor + 1) % buffer.episode.shape[1])


def backfill(buffer: ReplayBuffer, done, rewards, episode) -> ReplayBuffer:
  """Gives every stored row of each just-finished game its value target.

  done: [B] the slot's game ended; rewards: [B, num_players] its final
  rewards; episode: [B] the episode number of the game that ended.
  """
  finished = done[:, None] & (buffer.episode == episode[:, None])
  result = jnp.take_along_axis(rewards.astype(jnp.float32), buffer.to_play, axis=1)
  return buffer.replace(value=jnp.where(finished, result, buffer.value),
                        has_target=buffer.has_target | finished)


def sample(buffer: ReplayBuffer, slot_keys, per_slot: int) -> Batch:
  """Draws `per_slot` rows with targets from every slot (uniform, with
  replacement); slots with no target yet contribute rows of weight 0."""
  logits = jnp.where(buffer.has_target, 0.0, -jnp.inf)
  rows = jax.vmap(lambda key, slot_logits: jax.random.categorical(
      key, slot_logits, shape=(per_slot,)))(slot_keys, logits)  # [B, per_slot]
  take = lambda x, at=rows: jnp.take_along_axis(
      x, at.reshape(at.shape + (1,) * (x.ndim - 2)), axis=1)
  flat = lambda x: x.reshape((-1,) + x.shape[2:])
  # Rows are written in order, so row r + 1 holds the next position of r's
  # game if it has the same episode and is not the row to be written next.
  following = (rows + 1) % buffer.episode.shape[1]
  has_reply = ((take(buffer.episode, following) == take(buffer.episode))
               & (following != buffer.cursor[:, None]))
  return Batch(observation=flat(take(buffer.observation)),
               policy=flat(take(buffer.policy)),
               value=flat(take(buffer.value)),
               search_value=flat(take(buffer.search_value)),
               weight=flat(take(buffer.has_target)).astype(jnp.float32),
               reply_policy=flat(jnp.where(has_reply[..., None],
                                           take(buffer.policy, following), 0.0)))


def fill_fraction(buffer: ReplayBuffer) -> jax.Array:
  return buffer.has_target.mean()
