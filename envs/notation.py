"""Moves as people write them, and boards as text, for the board games.

`move_to_text` / `text_to_move` speak each game's natural notation:
- go_*: GTP vertices (`D4`, `pass`);
- connect_four: the column number, 1..7 from the left;
- tic_tac_toe: the cell number, 1..9 row by row from the top-left;
- othello: column letter and row number from the top-left (`d3`), `pass`;
- every other game: the pgx action index.
`render` draws one (unbatched) state. Host-side code only.
"""

from __future__ import annotations

import numpy as np

from envs import go

_OTHELLO_PASS = 64


def move_to_text(env_id: str, action: int) -> str:
  action = int(action)
  if go.is_go(env_id):
    return go.action_to_vertex(action, go.board_size(env_id))
  if env_id in ("connect_four", "tic_tac_toe"):
    return str(action + 1)
  if env_id == "othello":
    if action == _OTHELLO_PASS:
      return "pass"
    row, col = divmod(action, 8)
    return f"{'abcdefgh'[col]}{row + 1}"
  return str(action)


def parse_move(env_id: str, text: str, num_actions: int) -> int:
  """Text -> action index; ValueError with a reason if it is not a move
  of this game at all (legality is `text_to_move`'s job)."""
  text = text.strip()
  if go.is_go(env_id):
    return go.vertex_to_action(text, go.board_size(env_id))
  if env_id == "othello":
    low = text.lower()
    if low == "pass":
      return _OTHELLO_PASS
    if len(low) == 2 and low[0] in "abcdefgh" and low[1] in "12345678":
      return (int(low[1]) - 1) * 8 + "abcdefgh".index(low[0])
    raise ValueError(f"{text!r} is not a square like d3 (or pass)")
  if not text.lstrip("-").isdigit():
    raise ValueError(f"{text!r} is not a number")
  offset = 1 if env_id in ("connect_four", "tic_tac_toe") else 0
  action = int(text) - offset
  if not 0 <= action < num_actions:
    raise ValueError(f"{text!r} is out of range ({offset}..{num_actions - 1 + offset})")
  return action


def text_to_move(env_id: str, text: str, state) -> int:
  """Parses `text` and checks it is legal in `state`; ValueError otherwise."""
  legal = np.asarray(state.legal_action_mask)
  action = parse_move(env_id, text, legal.shape[-1])
  if not legal[action]:
    raise ValueError(f"{text.strip()} is not legal here")
  return action


def legal_moves(env_id: str, state) -> list[str]:
  return [move_to_text(env_id, a) for a in np.flatnonzero(np.asarray(state.legal_action_mask))]


def render(env_id: str, state, last: int | None = None) -> str:
  """The board of one state as text (X moves first)."""
  board = np.asarray(state._x.board) if hasattr(state, "_x") else None
  if go.is_go(env_id):
    return go.render(go.stones(state), last)
  if env_id == "tic_tac_toe":
    cells = [{0: "X", 1: "O"}.get(int(v), str(i + 1)) for i, v in enumerate(board)]
    rows = [" " + " | ".join(cells[r * 3:r * 3 + 3]) for r in range(3)]
    return "\n---+---+---\n".join(rows)
  if env_id == "connect_four":
    grid = board.reshape(6, 7)
    rows = ["|" + " ".join({0: "X", 1: "O"}.get(int(v), ".") for v in row) + "|"
            for row in grid]
    return "\n".join(rows + [" " + " ".join(str(c + 1) for c in range(7))])
  if env_id == "othello":
    grid = board.reshape(8, 8)
    # pgx stores the stones from the point of view of the player to move.
    me, other = ("X", "O") if int(np.asarray(state._x.turn)) % 2 == 0 else ("O", "X")
    rows = [f"{r + 1} " + " ".join({1: me, -1: other}.get(int(v), ".") for v in row)
            for r, row in enumerate(grid)]
    return "\n".join(["  a b c d e f g h"] + rows)
  moves = ", ".join(legal_moves(env_id, state))
  return f"(no board drawing for {env_id}; legal actions: {moves})"
