"""Exact tic-tac-toe solver and every reachable position as pgx states.

Written for the tests: it knows the rules independently of pgx and uses
pgx only to build the states an agent is asked to play from.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8),
         (0, 4, 8), (2, 4, 6)]


def _won(cells: tuple) -> bool:
  return any(all(cells[i] for i in line) for line in LINES)


@functools.lru_cache(maxsize=None)
def value(mine: tuple, theirs: tuple) -> int:
  """Game value (+1 win, 0 draw, -1 loss) for the player to move."""
  if _won(theirs):
    return -1
  empty = [i for i in range(9) if not mine[i] and not theirs[i]]
  if not empty:
    return 0
  return max(-value(theirs, mine[:i] + (True,) + mine[i + 1:]) for i in empty)


def action_values(mine: tuple, theirs: tuple) -> dict[int, int]:
  empty = [i for i in range(9) if not mine[i] and not theirs[i]]
  return {i: -value(theirs, mine[:i] + (True,) + mine[i + 1:]) for i in empty}


def optimal_actions(observation: np.ndarray) -> set[int]:
  """observation: pgx tic_tac_toe [3, 3, 2], channel 0 = player to move."""
  mine = tuple(bool(x) for x in observation[..., 0].reshape(-1))
  theirs = tuple(bool(x) for x in observation[..., 1].reshape(-1))
  values = action_values(mine, theirs)
  best = max(values.values())
  return {a for a, v in values.items() if v == best}


def reachable_states(env):
  """All distinct non-terminal positions reachable from the start, as one
  batched pgx state (both first-mover assignments are covered). Cached per
  game: several tests ask for them."""
  return _reachable_states(env.id)


@functools.lru_cache(maxsize=None)
def _reachable_states(env_id):
  import envs
  env = envs.make(env_id)
  step = jax.jit(jax.vmap(env.step))
  frontier = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(0), 2))
  seen, kept = set(), []
  while frontier.current_player.shape[0]:
    obs = np.asarray(frontier.observation)
    live = ~np.asarray(frontier.terminated)
    # Observations are from the mover's side, so they identify a position.
    fresh = []
    for i, o in enumerate(obs):
      if live[i] and o.tobytes() not in seen:
        seen.add(o.tobytes())
        fresh.append(i)
    if not fresh:
      break
    idx = np.array(fresh)
    frontier = jax.tree.map(lambda x: x[idx], frontier)
    kept.append(frontier)
    legal = np.asarray(frontier.legal_action_mask)
    rows, actions = np.nonzero(legal)
    parents = jax.tree.map(lambda x: x[rows], frontier)
    frontier = step(parents, jnp.asarray(actions, jnp.int32),
                    jax.random.split(jax.random.PRNGKey(1), len(rows)))
  return jax.tree.map(lambda *xs: jnp.concatenate(xs), *kept)


CHUNK = 512


def act_in_chunks(agent, states, key) -> np.ndarray:
  """Agent moves for any number of states, in fixed-size (padded) chunks so
  the agent compiles once."""
  act = _compiled(agent)
  n = states.current_player.shape[0]
  out = []
  for start in range(0, n, CHUNK):
    idx = np.minimum(np.arange(start, start + CHUNK), n - 1)
    part = jax.tree.map(lambda x: x[idx], states)
    out.append(np.asarray(act(agent.params, part, jax.random.fold_in(key, start))))
  return np.concatenate(out)[:n]


@functools.lru_cache(maxsize=None)
def _compiled(agent):
  return jax.jit(agent.apply)


def optimal_move_rate(agent, states, key=jax.random.PRNGKey(0)) -> float:
  """Fraction of `states` where `agent` plays a minimax-optimal move."""
  actions = act_in_chunks(agent, states, key)
  obs = np.asarray(states.observation)
  good = sum(int(a) in optimal_actions(o) for a, o in zip(actions, obs))
  return good / len(actions)


def games_against_minimax(agent, env, key=jax.random.PRNGKey(0)):
  """Plays `agent` against exact minimax from both seats, following *every*
  minimax-optimal reply (the agent itself is deterministic). Returns the
  agent's result (+1/0/-1) in every distinct game."""
  step = jax.jit(jax.vmap(env.step))
  start = env.init(jax.random.PRNGKey(0))
  results = []
  for agent_first in (True, False):
    agent_player = int(start.current_player) if agent_first else 1 - int(start.current_player)
    frontier = jax.tree.map(lambda x: x[None], start)
    depth = 0
    while frontier.current_player.shape[0]:
      over = np.asarray(frontier.terminated | frontier.truncated)
      results += np.asarray(frontier.rewards)[over, agent_player].tolist()
      frontier = jax.tree.map(lambda x: x[~over], frontier)
      if not frontier.current_player.shape[0]:
        break
      turn = np.asarray(frontier.current_player) == agent_player
      parents, actions = [], []
      if turn.any():
        mine = np.nonzero(turn)[0]
        chosen = act_in_chunks(agent, jax.tree.map(lambda x: x[mine], frontier),
                               jax.random.fold_in(key, depth))
        parents += mine.tolist()
        actions += chosen.tolist()
      for i in np.nonzero(~turn)[0]:
        for a in sorted(optimal_actions(np.asarray(frontier.observation[i]))):
          parents.append(int(i))
          actions.append(a)
      idx = np.array(parents)
      frontier = step(jax.tree.map(lambda x: x[idx], frontier),
                      jnp.asarray(actions, jnp.int32),
                      jax.random.split(jax.random.PRNGKey(depth), len(idx)))
      depth += 1
  return results
