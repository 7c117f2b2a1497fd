"""Go specifics on top of pgx's Go: coordinates, stones, area scoring.

pgx numbers points row-major from the top-left corner (action = row * size
+ col, row 0 at the top) and uses action size*size for pass. Coordinates in
the outside world:
- GTP vertices: column letter A..T without I, row number counted from the
  bottom (`D4`), or `pass`;
- SGF points: two letters, column then row, both from the top-left (`dc`),
  and the empty string for pass.

Everything here runs on the host (numpy) so GTP, SGF and the tournament tool
share one convention. This is the only module that reads pgx's private Go
state (`_x`, `_player_order`).
"""

from __future__ import annotations

import numpy as np

_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # GTP skips I
BLACK, WHITE, EMPTY = 1, -1, 0


def is_go(env_id: str) -> bool:
  return env_id.startswith("go_")


def board_size(env_id: str) -> int:
  if not is_go(env_id):
    raise ValueError(f"{env_id!r} is not a Go game")
  return int(env_id.split("_")[1].split("x")[0])


def make(env_id: str, komi: float | None = None):
  """`envs.make(env_id)`, with another komi if given (default: the size's,
  `envs.board.GO_KOMI`)."""
  import envs
  from envs.board import make_go
  envs.check_env_name(env_id)
  if not is_go(env_id):
    raise ValueError(f"{env_id!r} is not a Go game")
  return make_go(env_id, komi)


def pass_action(size: int) -> int:
  return size * size


def action_to_vertex(action: int, size: int) -> str:
  if action == pass_action(size):
    return "pass"
  row, col = divmod(int(action), size)
  return f"{_COLUMNS[col]}{size - row}"


def vertex_to_action(text: str, size: int) -> int:
  """`D4` / `d4` / `pass` -> pgx action; ValueError for anything else."""
  text = text.strip().upper()
  if text == "PASS":
    return pass_action(size)
  if len(text) < 2 or text[0] not in _COLUMNS[:size] or not text[1:].isdigit():
    raise ValueError(f"invalid vertex {text!r}")
  number = int(text[1:])
  if not 1 <= number <= size:
    raise ValueError(f"vertex {text!r} is off the {size}x{size} board")
  return (size - number) * size + _COLUMNS.index(text[0])


def action_to_sgf(action: int, size: int) -> str:
  if action == pass_action(size):
    return ""
  row, col = divmod(int(action), size)
  return chr(ord("a") + col) + chr(ord("a") + row)


def sgf_to_action(text: str, size: int) -> int:
  """SGF point -> pgx action; '' (and 'tt' on boards up to 19) is a pass."""
  if text == "" or (text == "tt" and size <= 19):
    return pass_action(size)
  if len(text) != 2:
    raise ValueError(f"invalid SGF point {text!r}")
  col, row = ord(text[0]) - ord("a"), ord(text[1]) - ord("a")
  if not (0 <= col < size and 0 <= row < size):
    raise ValueError(f"SGF point {text!r} is off the {size}x{size} board")
  return row * size + col


def stones(state) -> np.ndarray:
  """int8 [size, size]: 1 black, -1 white, 0 empty, for one pgx Go state."""
  board = np.sign(np.asarray(state._x.board)).astype(np.int8)
  size = int(round(board.size ** 0.5))
  return board.reshape(size, size)


def black_player(state) -> int:
  """The pgx player id (0 or 1) that plays black in this game."""
  return int(np.asarray(state._player_order)[0])


def color_of_ply(index: int) -> str:
  """GTP colour ("b" or "w") of the move at 0-based ply `index`: black
  moves first, so on even plies (passes count as moves)."""
  return "b" if index % 2 == 0 else "w"


def area_score(board: np.ndarray, komi: float) -> float:
  """Tromp-Taylor area score, black minus white minus komi: stones plus
  empty regions that touch only one colour."""
  size = board.shape[0]
  black = int((board == BLACK).sum())
  white = int((board == WHITE).sum())
  seen = np.zeros_like(board, dtype=bool)
  for r in range(size):
    for c in range(size):
      if board[r, c] != EMPTY or seen[r, c]:
        continue
      region, borders, stack = 0, set(), [(r, c)]
      seen[r, c] = True
      while stack:
        y, x = stack.pop()
        region += 1
        for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
          if 0 <= ny < size and 0 <= nx < size:
            if board[ny, nx] == EMPTY and not seen[ny, nx]:
              seen[ny, nx] = True
              stack.append((ny, nx))
            elif board[ny, nx] != EMPTY:
              borders.add(int(board[ny, nx]))
      if borders == {BLACK}:
        black += region
      elif borders == {WHITE}:
        white += region
  return black - white - komi


def result_string(score: float) -> str:
  """SGF/GTP result from a black-minus-white score: B+3.5, W+0.5, 0."""
  if score > 0:
    return f"B+{score:g}"
  if score < 0:
    return f"W+{-score:g}"
  return "0"


def render(board: np.ndarray, last: int | None = None) -> str:
  """ASCII board with GTP coordinates; X black, O white, (X) the last move."""
  size = board.shape[0]
  letters = "   " + " ".join(_COLUMNS[:size])
  last_rc = divmod(int(last), size) if last is not None and last < size * size else None
  lines = [letters]
  for r in range(size):
    seps = [" "] * (size + 1)
    if last_rc and last_rc[0] == r:
      seps[last_rc[1]], seps[last_rc[1] + 1] = "(", ")"
    stones = [{BLACK: "X", WHITE: "O"}.get(int(v), ".") for v in board[r]]
    row = "".join(sep + stone for sep, stone in zip(seps, stones)) + seps[-1]
    lines.append(f"{size - r:2d}{row}{size - r}")
  lines.append(letters)
  return "\n".join(lines)


# ---------------------------------------------------------------------------
# Final-position targets for KataGo's auxiliary heads (ownership, score), in
# JAX: self-play computes them on device when a game ends.

def area_ownership(stones, size: int):
  """Owner of every point under area scoring, in JAX: stones [size * size]
  (1 black, -1 white, 0 empty) -> [size * size] float32, 1 black, -1 white,
  0 for an empty point whose region touches both colours or none. The sum
  is black's area minus white's: `area_score` without komi."""
  import jax
  import jax.numpy as jnp
  board = jnp.asarray(stones).reshape(size, size)
  empty = board == EMPTY

  def reach(colour):
    start = board == colour

    def grow(_, r):  # one step of flood fill through empty points
      p = jnp.pad(r, 1)
      near = r | p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]
      return start | (near & empty)
    # A region of k empty points is filled within k steps.
    return jax.lax.fori_loop(0, size * size, grow, start)

  black, white = reach(BLACK), reach(WHITE)
  owner = jnp.where(empty, black.astype(jnp.float32) - white.astype(jnp.float32),
                    board.astype(jnp.float32))
  return owner.reshape(-1)


def final_targets(state, komi: float):
  """(ownership [P], score []) of one finished pgx Go state, both from
  player 0's side (pgx's player ids, as its rewards): 1 where player 0 owns
  the point, and player 0's area minus the opponent's, komi counted."""
  import jax.numpy as jnp
  size = int(round(state._x.board.shape[-1] ** 0.5))
  owner_black = area_ownership(jnp.sign(state._x.board), size)
  side = jnp.where(state._player_order[0] == 0, 1.0, -1.0)
  return owner_black * side, (owner_black.sum() - komi) * side


def without_early_pass(states, before: int):
  """The legal-move masks [B, A] of pgx Go states with pass removed while
  fewer than `before` moves have been played, unless pass is the only legal
  move (JAX). Self-play that may pass from move one collapses into short
  games both sides end by passing, scored on a half-empty board."""
  legal = states.legal_action_mask
  early = (states._step_count < before) & legal[..., :-1].any(-1)
  return legal.at[..., -1].set(legal[..., -1] & ~early)
