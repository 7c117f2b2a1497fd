"""Every pgx board game behind the zerogo env protocol.

pgx already implements the protocol, so this is a thin adapter: it fixes the
registry names (pgx ids), exposes the static facts search needs, and makes
`step` always take a key (pgx's stochastic games need one).
"""

from __future__ import annotations

import jax
import pgx

from envs import core

# Deterministic, perfect-information, two-player zero-sum games: search may
# use the env itself as its model, which is what AlphaZero does here.
PERFECT_INFORMATION_TWO_PLAYER = frozenset({
    "tic_tac_toe", "connect_four", "othello", "go_9x9", "go_19x19", "hex",
    "chess", "gardner_chess", "animal_shogi", "shogi",
})

# Everything pgx ships except its MinAtar ports, which are GPL.
BOARD_GAMES = (
    "2048", "animal_shogi", "backgammon", "chess", "connect_four",
    "gardner_chess", "go_9x9", "go_19x19", "hex", "kuhn_poker",
    "leduc_holdem", "othello", "shogi", "sparrow_mahjong", "tic_tac_toe",
)


# Longest possible game in moves (pgx's own move limits where it has them);
# matches record this many moves per game.
MAX_GAME_LENGTH = {"tic_tac_toe": 9, "connect_four": 42, "othello": 128, "hex": 122,
                   "go_9x9": 2 * 81, "go_19x19": 2 * 361}


class BoardEnv:
  """A pgx game. States are pgx `State`s; actions are int32 indices."""

  def __init__(self, env_id: str, pgx_env=None):
    self.id = env_id
    self._pgx = pgx.make(env_id) if pgx_env is None else pgx_env
    self.num_actions = int(self._pgx.num_actions)
    self.num_players = int(self._pgx.num_players)
    self.observation_shape = tuple(int(d) for d in self._pgx.observation_shape)
    self.is_perfect_information_two_player = (
        env_id in PERFECT_INFORMATION_TWO_PLAYER)
    self.max_game_length = MAX_GAME_LENGTH.get(env_id, 1024)
    if env_id.startswith("go_"):
      self.komi = float(self._pgx._game.komi)

  def init(self, key: jax.Array):
    return self._pgx.init(key)

  def step(self, state, action: jax.Array, key: jax.Array):
    return self._pgx.step(state, action, key)

  def observe(self, state, player_id: jax.Array | None = None) -> jax.Array:
    if player_id is None:
      return state.observation
    # From another player's side: pgx 2.x deprecates `observe(state, player_id)`
    # (a DeprecationWarning per trace) but keeps the per-player `_observe`
    # that it wraps; PPO's learner-side view of a two-player game needs it.
    return jax.lax.stop_gradient(self._pgx._observe(state, player_id))

  def __repr__(self) -> str:
    return f"BoardEnv({self.id!r})"


for _name in BOARD_GAMES:
  core.register(_name, lambda n=_name: BoardEnv(n), family="board")
