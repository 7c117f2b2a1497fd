"""Exact tic-tac-toe solver and every reachable position as pgx states.

It knows the rules independently of pgx (and of `agents.baselines`'s
minimax table) and uses pgx only to build the states an agent is asked to
play from, so it is a reference for the learning test and for the summary
`launch/selfplay.py` prints at the end of a tic-tac-toe run.
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


def _empty(mine: tuple, theirs: tuple) -> list[int]:
  return [i for i in range(9) if not mine[i] and not theirs[i]]


def _mark(cells: tuple, i: int) -> tuple:
  return cells[:i] + (True,) + cells[i + 1:]


@functools.lru_cache(maxsize=None)
def value(mine: tuple, theirs: tuple) -> int:
  """Game value (+1 win, 0 draw, -1 loss) for the player to move."""
  if _won(theirs):
    return -1
  return max(action_values(mine, theirs).values(), default=0)


def action_values(mine: tuple, theirs: tuple) -> dict[int, int]:
  """The value of each empty cell's move for the player to move."""
  return {i: -value(theirs, _mark(mine, i)) for i in _empty(mine, theirs)}


def _optimal(mine: tuple, theirs: tuple) -> list[int]:
  values = action_values(mine, theirs)
  return sorted(a for a, v in values.items() if v == max(values.values()))


def optimal_actions(observation: np.ndarray) -> set[int]:
  """observation: pgx tic_tac_toe [3, 3, 2], channel 0 = player to move."""
  mine = tuple(bool(x) for x in observation[..., 0].reshape(-1))
  theirs = tuple(bool(x) for x in observation[..., 1].reshape(-1))
  return set(_optimal(mine, theirs))


def reachable_states(env):
  """All distinct non-terminal positions reachable from the start, as one
  batched pgx state, each reached by replaying the moves that first led to
  it. Cached per game: several callers ask for them."""
  return _reachable_states(env.id)


@functools.lru_cache(maxsize=None)
def positions() -> dict[tuple, tuple]:
  """Every distinct non-terminal position reachable from the start, as
  (mine, theirs) from the mover's side (as pgx observes it) -> the moves
  that first reach it."""
  openings = {}

  def visit(mine: tuple, theirs: tuple, moves: tuple) -> None:
    if (mine, theirs) in openings or _won(theirs) or not _empty(mine, theirs):
      return
    openings[mine, theirs] = moves
    for a in _empty(mine, theirs):
      visit(theirs, _mark(mine, a), moves + (a,))

  visit((False,) * 9, (False,) * 9, ())
  return openings


@functools.lru_cache(maxsize=None)
def _reachable_states(env_id):
  import envs
  from zerogo import arena
  actions = np.full((len(positions()), 9), -1, np.int32)  # pgx only replays the moves
  for i, moves in enumerate(positions().values()):
    actions[i, :len(moves)] = moves
  return arena.replay_final(envs.make(env_id), jnp.asarray(actions))


CHUNK = 512


@functools.lru_cache(maxsize=None)
def _compiled(agent):
  return jax.jit(agent.apply)


def agent_moves(agent, states, key=jax.random.PRNGKey(0)) -> dict[bytes, int]:
  """The agent's move in each of `states`, keyed by the position's
  observation bytes (what `optimal_move_rate` and `games_against_minimax`
  take, so a caller asking for both searches every position once). Asked
  in chunks of CHUNK states (the last padded with copies of its last
  state), so the agent compiles once."""
  act = _compiled(agent)
  states = jax.device_get(states)
  n = states.current_player.shape[0]
  actions = []
  for start in range(0, n, CHUNK):
    rows = np.minimum(np.arange(start, start + CHUNK), n - 1)
    part = jax.tree.map(lambda x: x[rows], states)
    actions.append(np.asarray(act(agent.params, part, jax.random.fold_in(key, start))))
  actions = np.concatenate(actions)[:n]
  return {o.tobytes(): int(a) for o, a in zip(np.asarray(states.observation), actions)}


def optimal_move_rate(agent, states, key=jax.random.PRNGKey(0), moves=None) -> float:
  """Fraction of `states` where `agent` plays a minimax-optimal move."""
  moves = agent_moves(agent, states, key) if moves is None else moves
  obs = np.asarray(states.observation)
  good = sum(moves[o.tobytes()] in optimal_actions(o) for o in obs)
  return good / len(obs)


def _observation(mine: tuple, theirs: tuple) -> np.ndarray:
  return np.stack([np.array(mine), np.array(theirs)], -1).reshape(3, 3, 2)


def games_against_minimax(agent, env, key=jax.random.PRNGKey(0), moves=None) -> list[float]:
  """Plays `agent` against exact minimax from both seats, following *every*
  minimax-optimal reply (the agent plays its one move per position, as
  `agent_moves` gives it). Returns the agent's result (+1/0/-1) in every
  distinct game; an illegal move by the agent loses."""
  if moves is None:
    moves = agent_moves(agent, reachable_states(env), key)
  results = []

  def play(mine: tuple, theirs: tuple, agent_to_move: bool) -> None:
    # Position from the mover's side; `theirs` just moved.
    sign = 1.0 if agent_to_move else -1.0
    if _won(theirs):
      results.append(-sign)
      return
    empty = _empty(mine, theirs)
    if not empty:
      results.append(0.0)
      return
    if agent_to_move:
      choices = [moves[_observation(mine, theirs).tobytes()]]
      if choices[0] not in empty:
        results.append(-1.0)
        return
    else:
      choices = _optimal(mine, theirs)
    for a in choices:
      play(theirs, _mark(mine, a), not agent_to_move)

  empty = (False,) * 9
  for agent_first in (True, False):
    play(empty, empty, agent_first)
  return results
