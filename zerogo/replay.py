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
  ownership: [B, T, P] int8 final owner of every point from `to_play`'s side
    (1 own, -1 the opponent's, 0 neither; Go's auxiliary targets, valid with
    the value); score: [B, T] float32 the final score margin from `to_play`'s
    side over the number of points. Both None unless the run trains those
    heads (a run without them keeps the checkpoint layout it always had).
  """
  observation: chex.Array
  policy: chex.Array
  to_play: chex.Array
  episode: chex.Array
  value: chex.Array
  search_value: chex.Array
  has_target: chex.Array
  cursor: chex.Array
  ownership: chex.Array | None = None
  score: chex.Array | None = None


@chex.dataclass(frozen=True)
class Batch:
  """observation: [N, *obs_shape]; policy: [N, A]; value: [N] game result;
  search_value: [N] root search value; weight: [N]; reply_policy: [N, A] the
  search policy at the next position of the same game (the opponent's
  reply), all zeros where that position is not in the ring (the game's last
  position, or the newest row); ownership: [N, P] float32 and score: [N]
  where the buffer has them (else None)."""
  observation: chex.Array
  policy: chex.Array
  value: chex.Array
  search_value: chex.Array
  weight: chex.Array
  reply_policy: chex.Array
  ownership: chex.Array | None = None
  score: chex.Array | None = None


def init(num_slots: int, rows: int, observation_shape, observation_dtype,
         num_actions: int, ownership_points: int = 0) -> ReplayBuffer:
  """ownership_points > 0 adds the ownership and score columns."""
  shape = (num_slots, rows)
  extra = {}
  if ownership_points:
    extra = dict(ownership=jnp.zeros(shape + (ownership_points,), jnp.int8),
                 score=jnp.zeros(shape, jnp.float32))
  return ReplayBuffer(
      observation=jnp.zeros(shape + tuple(observation_shape), observation_dtype),
      policy=jnp.zeros(shape + (num_actions,), jnp.float32),
      to_play=jnp.zeros(shape, jnp.int32),
      episode=jnp.full(shape, -1, jnp.int32),
      value=jnp.zeros(shape, jnp.float32),
      search_value=jnp.zeros(shape, jnp.float32),
      has_target=jnp.zeros(shape, bool),
      cursor=jnp.zeros((num_slots,), jnp.int32), **extra)


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


def backfill(buffer: ReplayBuffer, done, rewards, episode, ownership=None,
             score=None) -> ReplayBuffer:
  """Gives every stored row of each just-finished game its value target.

  done: [B] the slot's game ended; rewards: [B, num_players] its final
  rewards; episode: [B] the episode number of the game that ended.
  ownership: [B, P] and score: [B], from player 0's side (two-player
  games: player 1 sees their negation), for buffers that keep them.
  """
  finished = done[:, None] & (buffer.episode == episode[:, None])
  result = jnp.take_along_axis(rewards.astype(jnp.float32), buffer.to_play, axis=1)
  buffer = buffer.replace(value=jnp.where(finished, result, buffer.value),
                          has_target=buffer.has_target | finished)
  if buffer.ownership is None:
    return buffer
  side = jnp.where(buffer.to_play == 0, 1.0, -1.0)  # [B, T]
  points = ownership.shape[-1]
  own = (ownership[:, None, :] * side[..., None]).astype(jnp.int8)
  return buffer.replace(
      ownership=jnp.where(finished[..., None], own, buffer.ownership),
      score=jnp.where(finished, score[:, None] * side / points, buffer.score))


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
                                           take(buffer.policy, following), 0.0)),
               ownership=(None if buffer.ownership is None
                          else flat(take(buffer.ownership)).astype(jnp.float32)),
               score=None if buffer.score is None else flat(take(buffer.score)))


def fill_fraction(buffer: ReplayBuffer) -> jax.Array:
  return buffer.has_target.mean()
