"""Matches between agents: who plays whom, and the games themselves.

- `play_match`: N games between two JAX agents, colours alternated, all games
  batched in one jitted `while_loop` (vmap over games). Moves are recorded.
- `play_game`: one game on the host between any two `Player`s (a JAX agent,
  an external GTP engine, a person), move by move.
- `round_robin` / `gauntlet`: schedules over many agents.

Rating the results (Elo) is `zerogo.ratings`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from typing import Any, Callable, Sequence

import chex
import jax
import jax.numpy as jnp
import numpy as np

import envs
from zerogo.agent import Agent


@chex.dataclass(frozen=True)
class MatchResult:
  """Per game [N]: score of agent A (1 win, 0.5 draw, 0 loss), whether A
  moved first, the number of moves played and the moves themselves
  (actions [N, L], -1 after the end; moves past L are not recorded)."""
  score: chex.Array
  a_first: chex.Array
  moves: chex.Array
  actions: chex.Array

  def summary(self) -> dict:
    score = np.asarray(self.score)
    return {"games": int(score.size), "wins": int((score == 1).sum()),
            "draws": int((score == 0.5).sum()), "losses": int((score == 0).sum()),
            "score": float(score.mean())}


def max_game_length(env) -> int:
  """Moves recorded per game: the game's move limit where known."""
  return int(getattr(env, "max_game_length", 1024))


def opening_move(key: jax.Array, pair: jax.Array, ply: jax.Array, legal_mask: jax.Array):
  """The uniformly random move at `ply` of the opening shared by the two
  games of colour-swapped pair `pair` (same key, same position, same move)."""
  return envs.random_legal_action(jax.random.fold_in(jax.random.fold_in(key, pair), ply),
                                  legal_mask)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 5, 7))
def _play(env, apply_a, apply_b, params_a, params_b, num_games, key, opening_moves=0):
  length = max_game_length(env)
  init_key, opening_key, key = jax.random.split(key, 3)
  states = jax.vmap(env.init)(jax.random.split(init_key, num_games))
  # Colours alternate: A moves first in even-numbered games, second in odd.
  a_first = jnp.arange(num_games) % 2 == 0
  a_player = jnp.where(a_first, states.current_player, 1 - states.current_player)

  def move(carry):
    s, k, total, moves, actions = carry
    k, key_a, key_b, step_key = jax.random.split(k, 4)
    done = s.terminated | s.truncated
    action = jnp.where(s.current_player == a_player,
                       apply_a(params_a, s, key_a), apply_b(params_b, s, key_b))
    if opening_moves:
      opening = jax.vmap(opening_move, (None, 0, 0, 0))(
          opening_key, jnp.arange(num_games) // 2, moves, s.legal_action_mask)
      action = jnp.where(moves < opening_moves, opening, action)
    actions = actions.at[jnp.arange(num_games), jnp.where(done, length, moves)].set(
        action, mode="drop")
    s = jax.vmap(env.step)(s, action, jax.random.split(step_key, num_games))
    total = total + jnp.take_along_axis(s.rewards, a_player[:, None], axis=1)[:, 0]
    return s, k, total, moves + (~done), actions

  carry = (states, key, jnp.zeros(num_games, jnp.float32), jnp.zeros(num_games, jnp.int32),
           jnp.full((num_games, length), -1, jnp.int32))
  _, _, total, moves, actions = jax.lax.while_loop(
      lambda carry: ~jnp.all(carry[0].terminated | carry[0].truncated), move, carry)
  return MatchResult(score=(jnp.sign(total) + 1) / 2, a_first=a_first, moves=moves,
                     actions=actions)


@functools.partial(jax.jit, static_argnums=(0, 1, 3))
def _episodes(env, apply, params, num_episodes: int, key: jax.Array):
  init_key, play_key = jax.random.split(key)
  states = jax.vmap(env.init)(jax.random.split(init_key, num_episodes))

  def live(carry):
    s, _, _, t = carry
    return (~(s.terminated | s.truncated)).any() & (t < max_game_length(env))

  def step(carry):
    s, total, length, t = carry
    keys = jax.random.split(jax.random.fold_in(play_key, t), num_episodes + 1)
    running = ~(s.terminated | s.truncated)
    s = jax.vmap(env.step)(s, apply(params, s, keys[0]), keys[1:])
    return s, total + s.rewards[:, 0], length + running, t + 1

  zero = jnp.zeros(num_episodes, jnp.float32)
  s, total, length, _ = jax.lax.while_loop(
      live, step, (states, zero, zero.astype(jnp.int32), 0))
  return total, length, s.truncated


def episodes(agent: Agent, key: jax.Array, num_episodes: int):
  """(returns float32[N], lengths int32[N], truncated bool[N]) of a
  one-player game's episodes played by `agent`, each to its end or the env's
  time limit: undiscounted returns; `truncated`: cut off by the time limit
  rather than ended by the game."""
  return _episodes(agent.env, agent.apply, agent.params, num_episodes, key)


@functools.partial(jax.jit, static_argnums=0)
def replay_final(env, actions: jax.Array):
  """Final states [N] after playing recorded actions [N, L] (-1 = no move)
  from the start position."""
  states = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(0), actions.shape[0]))

  def step(s, a):
    moved = jax.vmap(env.step)(s, jnp.maximum(a, 0), jax.random.split(
        jax.random.PRNGKey(0), a.shape[0]))
    return jax.tree.map(lambda new, old: jnp.where(
        (a >= 0).reshape((-1,) + (1,) * (new.ndim - 1)), new, old), moved, s), None

  final, _ = jax.lax.scan(step, states, actions.T)
  return final


def play_match(agent_a: Agent, agent_b: Agent, key: jax.Array, num_games: int,
               env=None, opening_moves: int = 0) -> MatchResult:
  """Plays `num_games` two-player games between A and B, colours alternated
  (A first in even games), under `env`'s rules (default: A's env).

  `opening_moves=N`: the first N moves of every game are uniformly random,
  the same N moves in both games of a colour-swapped pair (games 2k, 2k+1).
  Two deterministic agents otherwise replay the same two games forever."""
  if agent_a.env_id != agent_b.env_id:
    raise ValueError(f"agents play different games: {agent_a.env_id} vs {agent_b.env_id}")
  return _play(env if env is not None else agent_a.env, agent_a.apply, agent_b.apply,
               agent_a.params, agent_b.params, num_games, key, opening_moves)


# ---------------------------------------------------------------------------
# Host-side games: any two players, one move at a time.

RESIGN = -1


class Player:
  """A participant in host-side games (JAX agent, GTP engine, person).

  `new_game(env, first)` starts a game (`first`: this player moves first);
  `genmove(state, key)` returns an action for the side to move, or RESIGN;
  `observe(action)` tells it a move was played (by either side); `close()`
  releases what it holds (processes).
  """
  name: str = "player"

  def new_game(self, env, first: bool) -> None:
    pass

  def genmove(self, state, key) -> int:
    raise NotImplementedError

  def observe(self, action: int) -> None:
    pass

  def close(self) -> None:
    pass


class AgentPlayer(Player):
  """A JAX Agent playing one game at a time (batch of one, jitted)."""

  def __init__(self, agent: Agent):
    self.agent = agent
    self.name = agent.name
    self._act = jax.jit(agent.apply)

  def genmove(self, state, key) -> int:
    batched = jax.tree.map(lambda x: jnp.asarray(x)[None], state)
    return int(self._act(self.agent.params, batched, key)[0])


def seconds_per_move(agent: Agent, key: jax.Array, num_positions: int = 16,
                     env=None) -> float:
  """Mean wall clock of one move of `agent` alone (a batch of one game, as a
  person or an engine would meet it), over `num_positions` positions of a
  random game; compilation is left out (one move is played first)."""
  env = env if env is not None else agent.env
  player = AgentPlayer(agent)
  step = _jitted_step(env)
  key, init_key = jax.random.split(key)
  state = env.init(init_key)
  player.genmove(state, key)  # compiles; genmove returns a host int, so it has finished
  spent = 0.0
  for _ in range(num_positions):
    if bool(state.terminated | state.truncated):
      key, init_key = jax.random.split(key)
      state = env.init(init_key)
    key, move_key, random_key, step_key = jax.random.split(key, 4)
    started = time.perf_counter()
    player.genmove(state, move_key)
    spent += time.perf_counter() - started
    state = step(state, envs.random_legal_action(random_key, state.legal_action_mask),
                 step_key)
  return spent / num_positions


@dataclasses.dataclass
class GameRecord:
  """One finished game. `score` is the first player's (1, 0.5, 0); `reason`
  is "end" (rules ended it), "resign" or "illegal" (the loser's doing)."""
  players: tuple[str, str]     # (moves first, moves second)
  actions: list[int]
  score: float
  reason: str = "end"
  extra: dict = dataclasses.field(default_factory=dict)


@functools.lru_cache(maxsize=16)
def _jitted_step(env):
  """One compiled step per env for host-played games: a fresh `jax.jit` per
  game compiled again every game (6 s a game on go_7x7, 2 CPU cores, where
  GNU Go itself needs a fraction of a second)."""
  return jax.jit(env.step)


def play_game(env, first: Player, second: Player, key: jax.Array,
              on_move: Callable[[Any, int], None] | None = None, *,
              opening_moves: int = 0, opening_key: jax.Array | None = None,
              pair: int = 0) -> GameRecord:
  """Plays one game between two host-side players; `first` moves first.

  A move the rules forbid loses the game for the player who sent it (so an
  external engine's bug cannot crash a tournament). `opening_moves=N`: the
  first N moves are random, drawn as in `play_match` from (opening_key, pair).
  """
  init_key, key = jax.random.split(key)
  state = env.init(init_key)
  step = _jitted_step(env)
  first.new_game(env, True)
  second.new_game(env, False)
  first_id = int(state.current_player)
  players = (first.name, second.name)
  total = np.zeros(2, np.float64)
  actions: list[int] = []
  while not bool(state.terminated | state.truncated):
    key, move_key, step_key = jax.random.split(key, 3)
    first_moves = int(state.current_player) == first_id
    if len(actions) < opening_moves:
      action = int(opening_move(opening_key, jnp.int32(pair), jnp.int32(len(actions)),
                                state.legal_action_mask))
    else:
      action = (first if first_moves else second).genmove(state, move_key)
    legal = np.asarray(state.legal_action_mask)
    if action == RESIGN or not (0 <= action < legal.shape[0] and legal[action]):
      score = 0.0 if first_moves else 1.0
      if action == RESIGN:
        return GameRecord(players, actions, score, "resign", {"final_state": state})
      return GameRecord(players, actions, score, "illegal",
                        {"final_state": state, "illegal_move": int(action)})
    actions.append(int(action))
    state = step(state, jnp.int32(action), step_key)
    total += np.asarray(state.rewards)
    for p in (first, second):
      p.observe(int(action))
    if on_move is not None:
      on_move(state, int(action))
  score = (np.sign(total[first_id]) + 1) / 2
  return GameRecord(players, actions, float(score), "end", {"final_state": state})


# ---------------------------------------------------------------------------
# Schedules.

def round_robin(names: Sequence[str]) -> list[tuple[str, str]]:
  """Every pair once (colours are alternated within a pair's games)."""
  return list(itertools.combinations(names, 2))


def gauntlet(names: Sequence[str]) -> list[tuple[str, str]]:
  """The first player against each of the others."""
  return [(names[0], other) for other in names[1:]]
