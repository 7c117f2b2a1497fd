"""Every pgx board game behind the zerogo env protocol.

pgx already implements the protocol, so this is a thin adapter: it fixes the
registry names (pgx ids), exposes the static facts search needs, and makes
`step` always take a key (pgx's stochastic games need one).
"""

from __future__ import annotations

import jax
import pgx
import pgx.go

from envs import core, go

# Deterministic, perfect-information, two-player zero-sum games: search may
# use the env itself as its model, which is what AlphaZero does here.
# Go at every size (go_NxN) is one too.
PERFECT_INFORMATION_TWO_PLAYER = frozenset({
    "tic_tac_toe", "connect_four", "othello", "hex",
    "chess", "gardner_chess", "animal_shogi", "shogi",
})

# Everything pgx ships except its MinAtar ports, which are GPL.
BOARD_GAMES = (
    "2048", "animal_shogi", "backgammon", "chess", "connect_four",
    "gardner_chess", "hex", "kuhn_poker",
    "leduc_holdem", "othello", "shogi", "sparrow_mahjong", "tic_tac_toe",
)

# Go: every board size from 2x2 to 19x19 (`go_NxN`); these are listed.
GO_SIZES_LISTED = (5, 7, 9, 19)
GO_MIN_SIZE, GO_MAX_SIZE = 2, 19
# Komi by board size, area scoring. 5x5 and 7x7 are solved or nearly so:
# perfect play wins by the whole board (25) on 5x5 and, it is believed, by 9
# on 7x7, so those komis make the games balanced; 7x7 uses 9 (as the
# literature on 7x7 does). pgx counts an exact tie (possible with an integer
# komi) as a win for White. Other sizes keep pgx's 7.5. Override with
# `envs.go.make(env_id, komi)` (the tournament's `--komi`).
GO_KOMI = {5: 24.5, 7: 9.0}


# Longest possible game in moves (pgx's own move limits where it has them);
# matches record this many moves per game.
# Go: 2 * size * size, pgx's limit.
MAX_GAME_LENGTH = {"tic_tac_toe": 9, "connect_four": 42, "othello": 128, "hex": 122}


class BoardEnv:
  """A pgx game. States are pgx `State`s; actions are int32 indices."""

  def __init__(self, env_id: str, pgx_env=None):
    self.id = env_id
    self._pgx = pgx.make(env_id) if pgx_env is None else pgx_env
    self.num_actions = int(self._pgx.num_actions)
    self.num_players = int(self._pgx.num_players)
    self.observation_shape = tuple(int(d) for d in self._pgx.observation_shape)
    is_go = env_id.startswith("go_")
    self.is_perfect_information_two_player = (
        is_go or env_id in PERFECT_INFORMATION_TWO_PLAYER)
    self.max_game_length = MAX_GAME_LENGTH.get(env_id, 1024)
    if is_go:
      self.komi = float(self._pgx._game.komi)
      self.max_game_length = int(self._pgx._game.max_termination_steps)

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


def make_go(env_id: str, komi: float | None = None) -> BoardEnv:
  """`go_NxN` with the size's default komi (GO_KOMI) unless `komi` is given;
  the registry's pattern admits only sizes GO_MIN_SIZE..GO_MAX_SIZE."""
  size = go.board_size(env_id)
  komi = GO_KOMI.get(size, 7.5) if komi is None else float(komi)
  return BoardEnv(env_id, pgx_env=pgx.go.Go(size=size, komi=komi))


for _name in BOARD_GAMES:
  core.register(_name, lambda n=_name: BoardEnv(n), family="board")
for _size in GO_SIZES_LISTED:
  core.register(f"go_{_size}x{_size}", lambda n=f"go_{_size}x{_size}": make_go(n),
                family="board")
_GO_SIZES = "|".join(str(n) for n in range(GO_MIN_SIZE, GO_MAX_SIZE + 1))
core.register_pattern(rf"go_({_GO_SIZES})x\1", make_go,
                      shown=f"go_NxN (N {GO_MIN_SIZE}..{GO_MAX_SIZE})")
