"""Batched matches between two agents, one jitted loop over all games."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np

from zerogo.agent import Agent


@chex.dataclass(frozen=True)
class MatchResult:
  """Per game [N]: score of agent A (1 win, 0.5 draw, 0 loss), whether A
  moved first, and the number of moves played."""
  score: chex.Array
  a_first: chex.Array
  moves: chex.Array

  def summary(self) -> dict:
    score = np.asarray(self.score)
    return {"games": int(score.size), "wins": int((score == 1).sum()),
            "draws": int((score == 0.5).sum()), "losses": int((score == 0).sum()),
            "score": float(score.mean())}


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 5))
def _play(env, apply_a, apply_b, params_a, params_b, num_games, key):
  init_key, key = jax.random.split(key)
  states = jax.vmap(env.init)(jax.random.split(init_key, num_games))
  # Colours alternate: A moves first in even-numbered games, second in odd.
  a_first = jnp.arange(num_games) % 2 == 0
  a_player = jnp.where(a_first, states.current_player, 1 - states.current_player)

  def not_done(carry):
    s, *_ = carry
    return ~jnp.all(s.terminated | s.truncated)

  def move(carry):
    s, k, total, moves = carry
    k, key_a, key_b, step_key = jax.random.split(k, 4)
    done = s.terminated | s.truncated
    action = jnp.where(s.current_player == a_player,
                       apply_a(params_a, s, key_a), apply_b(params_b, s, key_b))
    s = jax.vmap(env.step)(s, action, jax.random.split(step_key, num_games))
    total = total + jnp.take_along_axis(s.rewards, a_player[:, None], axis=1)[:, 0]
    return s, k, total, moves + (~done)

  carry = (states, key, jnp.zeros(num_games, jnp.float32), jnp.zeros(num_games, jnp.int32))
  _, _, total, moves = jax.lax.while_loop(not_done, move, carry)
  return MatchResult(score=(jnp.sign(total) + 1) / 2, a_first=a_first, moves=moves)


def play_match(agent_a: Agent, agent_b: Agent, key: jax.Array, num_games: int) -> MatchResult:
  """Plays `num_games` two-player games between A and B, colours alternated."""
  if agent_a.env_id != agent_b.env_id:
    raise ValueError(f"agents play different games: {agent_a.env_id} vs {agent_b.env_id}")
  return _play(agent_a.env, agent_a.apply, agent_b.apply, agent_a.params,
               agent_b.params, num_games, key)
