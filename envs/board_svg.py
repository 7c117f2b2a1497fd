"""Board games as SVG for the web board: pgx's own drawing, plus where each
move sits on it (so a click can become a move) and an overlay of the
agent's move distribution, as Go analysis tools draw it.

Host-side code only. Cell geometry is known for tic-tac-toe, connect four,
othello and Go at any size; other games are drawn without clickable cells
(people pick their moves from a list or type them).
"""

from __future__ import annotations

import dataclasses
import html
import types

import numpy as np

from envs import go, notation


@dataclasses.dataclass(frozen=True)
class Geometry:
  """Where the moves of a game sit in pgx's SVG (user units, scale 1).
  `grid`: pgx's cell size; `columns`: connect four's moves are columns."""
  grid: float
  width: int
  height: int
  columns: bool = False

  def centre(self, action: int, row: int | None = None) -> tuple[float, float]:
    """Centre of cell `action` (a column game: of that column at `row`).
    pgx draws cell (col, row) centred at ((col + 1) * grid, (row + 1) * grid)."""
    col, r = (action, row or 0) if self.columns else (action % self.width,
                                                       action // self.width)
    return (col + 1) * self.grid, (r + 1) * self.grid


def geometry(env_id: str) -> Geometry | None:
  """The cell layout of `env_id`'s board, or None if moves cannot be
  clicked on it (chess, shogi, hex, ...)."""
  if env_id == "tic_tac_toe":
    return Geometry(60, 3, 3)
  if env_id == "connect_four":
    return Geometry(35, 7, 6, columns=True)
  if env_id == "othello":
    return Geometry(30, 8, 8)
  if go.is_go(env_id):
    size = go.board_size(env_id)
    return Geometry(25, size, size)
  return None


def _pgx_drawing(env_id: str, state):
  """pgx's svgwrite Drawing of one state. pgx only knows Go at 9x9 and
  19x19: other sizes reuse its Go drawing with their own size."""
  from pgx._src.visualizer import Visualizer
  visualizer = Visualizer(color_theme="light")
  if go.is_go(env_id) and env_id not in ("go_9x9", "go_19x19"):
    as_known = types.SimpleNamespace(env_id="go_9x9", _size=go.board_size(env_id))
    configure = Visualizer._set_config_by_state
    visualizer._set_config_by_state = lambda _: configure(visualizer, as_known)
  return visualizer.get_dwg(states=state)


def _landing_rows(state) -> np.ndarray:
  """Connect four: the row a stone dropped in each column lands on."""
  board = np.asarray(state._x.board).reshape(6, 7)
  empty = board < 0
  return np.array([int(np.flatnonzero(empty[:, c]).max()) if empty[:, c].any() else 0
                   for c in range(7)])


def _share_colour(rank: int) -> str:
  # The best move stands out (as in KaTrain/Lizzie); the rest fade by rank.
  return ("#1e88e5", "#43a047", "#fdd835", "#fb8c00")[min(rank, 3)]


def board_svg(env_id: str, state, *, shares: dict[int, float] | None = None,
              last_move: int | None = None, clickable: bool = False,
              top: int = 8, shares_state=None) -> str:
  """The board of one (unbatched) state as an SVG string that scales to its
  container. `shares`: {action: share of the search's visits}; the `top`
  largest are drawn with their percentages. `clickable`: legal moves get a
  transparent target `<... class="cell" data-action=A data-move=TEXT>`.
  `last_move` is ringed. `shares_state`: the position the shares were
  computed in, when it is the one before `state` (connect four then draws
  them where those stones would have landed)."""
  dwg = _pgx_drawing(env_id, state)
  width, height = float(dwg["width"]), float(dwg["height"])
  dwg["viewBox"] = f"0 0 {width:g} {height:g}"
  dwg["class"] = "board"
  dwg["width"], dwg["height"] = "100%", "100%"
  geo = geometry(env_id)
  if geo is None:
    return dwg.tostring()
  rows = _landing_rows(state) if geo.columns else None
  share_rows = _landing_rows(shares_state if shares_state is not None else state) \
      if geo.columns else None
  cells = geo.width if geo.columns else geo.width * geo.height

  def centre(action, landing=None):
    return geo.centre(action, (landing if landing is not None else rows)[action]
                      if geo.columns else None)

  parts = []
  if last_move is not None and 0 <= last_move < cells:
    if geo.columns:  # the stone just played is the column's top one
      filled = np.asarray(state._x.board).reshape(6, 7)[:, last_move] >= 0
      x, y = geo.centre(last_move, int(np.argmax(filled)))
    else:
      x, y = centre(last_move)
    parts.append(f'<circle class="last-move" cx="{x:g}" cy="{y:g}" r="{geo.grid * 0.18:g}" '
                 f'fill="none" stroke="#e53935" stroke-width="{geo.grid * 0.07:g}"/>')
  if shares:
    ranked = sorted(((s, a) for a, s in shares.items() if s > 0 and 0 <= a < cells),
                    reverse=True)[:top]
    for rank, (share, action) in enumerate(ranked):
      x, y = centre(action, share_rows)
      parts.append(
          f'<circle class="share" data-action="{action}" cx="{x:g}" cy="{y:g}" '
          f'r="{geo.grid * 0.42:g}" fill="{_share_colour(rank)}" fill-opacity="0.75" '
          f'stroke="#333" stroke-width="0.5"/>'
          f'<text class="share-text" x="{x:g}" y="{y + geo.grid * 0.12:g}" '
          f'text-anchor="middle" font-family="sans-serif" font-weight="bold" '
          f'font-size="{geo.grid * 0.34:.1f}px" fill="#111">{100 * share:.0f}%</text>')
  if clickable:
    for action in np.flatnonzero(np.asarray(state.legal_action_mask)):
      if action >= cells:
        continue  # pass: a button, not a cell
      text = html.escape(notation.move_to_text(env_id, int(action)))
      if geo.columns:
        x, y, w, h = geo.centre(int(action))[0] - geo.grid / 2, geo.grid / 2, geo.grid, \
            geo.height * geo.grid
      else:
        cx, cy = centre(int(action))
        x, y, w, h = cx - geo.grid / 2, cy - geo.grid / 2, geo.grid, geo.grid
      parts.append(f'<rect class="cell" data-action="{int(action)}" data-move="{text}" '
                   f'x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="#000" '
                   f'fill-opacity="0"/>')
  svg = dwg.tostring()
  return svg[:svg.rindex("</svg>")] + '<g class="overlay">' + "".join(parts) + "</g></svg>"
