"""Games as raster pictures (Pillow), for animations: GIFs of an agent's
game or episode, and the web board's episode player.

`frame(env_id, state)` draws one unbatched state: the grid board games
(tic-tac-toe, connect four, othello, Go at any size), the MinAtar screens
(one colour per object channel, as MinAtar's own display does) and
CartPole's cart and pole. Host-side code only.
"""

from __future__ import annotations

import io
import math

import numpy as np

from envs import go

CELL = 32          # pixels per board cell / MinAtar square
_MINATAR_COLOURS = [(0, 0, 0), (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66),
                    (0, 114, 178), (213, 94, 0), (204, 121, 167), (153, 153, 153),
                    (255, 255, 255), (120, 60, 200)]
BOARD_FRAMES = ("tic_tac_toe", "connect_four", "othello")


def _pil():
  try:
    from PIL import Image, ImageDraw
  except ImportError:
    raise ImportError("drawing frames needs Pillow: pip install -e '.[web]'") from None
  return Image, ImageDraw


def can_draw(env_id: str) -> bool:
  return env_id in BOARD_FRAMES or go.is_go(env_id) or env_id.startswith("minatar-") \
      or env_id == "CartPole-v1"


def frame(env_id: str, state, *, last_move: int | None = None, caption: str = ""):
  """One state as a PIL image (RGB); ValueError for a game it cannot draw."""
  if go.is_go(env_id):
    image = _go(state, go.board_size(env_id), last_move)
  elif env_id in BOARD_FRAMES:
    image = _board(env_id, state, last_move)
  elif env_id.startswith("minatar-"):
    image = _minatar(np.asarray(state.observation))
  elif env_id == "CartPole-v1":
    image = _cartpole(np.asarray(state.observation))
  else:
    raise ValueError(f"no frame drawing for {env_id}; GIFs cover tic_tac_toe, connect_four, "
                     "othello, go_NxN, the MinAtar games and CartPole-v1")
  return _with_caption(image, caption) if caption else image


def _with_caption(image, caption: str):
  Image, ImageDraw = _pil()
  width = int(ImageDraw.Draw(image).textlength(caption)) + 8
  out = Image.new("RGB", (max(image.width, width), image.height + 22), "white")
  out.paste(image, (0, 0))
  ImageDraw.Draw(out).text((4, image.height + 5), caption, fill=(0, 0, 0))
  return out


def _minatar(observation: np.ndarray):
  Image, _ = _pil()
  channels = observation.shape[-1]
  present = observation > 0.5
  # Later channels draw over earlier ones; empty squares stay black.
  index = np.where(present.any(-1), channels - np.argmax(present[..., ::-1], axis=-1), 0)
  palette = np.array([_MINATAR_COLOURS[i % len(_MINATAR_COLOURS)] if i else (0, 0, 0)
                      for i in range(channels + 1)], np.uint8)
  pixels = np.kron(palette[index], np.ones((CELL // 2, CELL // 2, 1), np.uint8))
  return Image.fromarray(pixels.astype(np.uint8), "RGB")


def _cartpole(observation: np.ndarray):
  Image, ImageDraw = _pil()
  width, height, scale = 360, 180, 60.0   # the track spans x in [-2.4, 2.4] -> 288 px
  image = Image.new("RGB", (width, height), "white")
  draw = ImageDraw.Draw(image)
  x, _, theta, _ = (float(v) for v in observation[:4])
  ground = height - 40
  draw.line((0, ground, width, ground), fill=(0, 0, 0), width=1)
  cx = width / 2 + x * scale
  draw.rectangle((cx - 25, ground - 15, cx + 25, ground + 5), fill=(60, 60, 60))
  length = 100
  tip = (cx + length * math.sin(theta), ground - 10 - length * math.cos(theta))
  draw.line((cx, ground - 10, *tip), fill=(204, 153, 102), width=8)
  draw.ellipse((cx - 4, ground - 14, cx + 4, ground - 6), fill=(127, 127, 204))
  return image


def _empty_board(columns: int, rows: int, colour=(235, 200, 130)):
  Image, ImageDraw = _pil()
  image = Image.new("RGB", ((columns + 1) * CELL, (rows + 1) * CELL), colour)
  return image, ImageDraw.Draw(image)


def _stone(draw, x, y, player: int, radius: float):
  fill, outline = ((20, 20, 20), (0, 0, 0)) if player == 0 else ((245, 245, 245), (0, 0, 0))
  draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill, outline=outline)


def _ring(draw, x, y, radius: float):
  draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=(229, 57, 53), width=3)


def _go(state, size: int, last_move: int | None):
  image, draw = _empty_board(size - 1, size - 1)
  for i in range(size):
    p = CELL + i * CELL
    draw.line((CELL, p, CELL * size, p), fill=(0, 0, 0))
    draw.line((p, CELL, p, CELL * size), fill=(0, 0, 0))
  stones = go.stones(state)
  for row in range(size):
    for col in range(size):
      if stones[row, col] != go.EMPTY:
        _stone(draw, CELL * (col + 1), CELL * (row + 1),
               0 if stones[row, col] == go.BLACK else 1, CELL * 0.45)
  if last_move is not None and last_move < size * size:
    row, col = divmod(last_move, size)
    _ring(draw, CELL * (col + 1), CELL * (row + 1), CELL * 0.25)
  return image


def _board(env_id: str, state, last_move: int | None):
  board = np.asarray(state._x.board)
  if env_id == "tic_tac_toe":
    image, draw = _empty_board(3, 3, (255, 255, 255))
    for i in (1, 2):
      p = CELL // 2 + i * CELL
      draw.line((CELL // 2, p, CELL // 2 + 3 * CELL, p), fill=(0, 0, 0), width=2)
      draw.line((p, CELL // 2, p, CELL // 2 + 3 * CELL), fill=(0, 0, 0), width=2)
    for cell, mark in enumerate(board):
      x, y = CELL * (cell % 3 + 1), CELL * (cell // 3 + 1)
      r = CELL * 0.35
      if mark == 0:
        draw.line((x - r, y - r, x + r, y + r), fill=(0, 0, 0), width=3)
        draw.line((x - r, y + r, x + r, y - r), fill=(0, 0, 0), width=3)
      elif mark == 1:
        draw.ellipse((x - r, y - r, x + r, y + r), outline=(0, 0, 0), width=3)
    if last_move is not None:
      _ring(draw, CELL * (last_move % 3 + 1), CELL * (last_move // 3 + 1), CELL * 0.45)
    return image
  if env_id == "connect_four":
    image, draw = _empty_board(7, 6, (30, 90, 200))
    grid = board.reshape(6, 7)
    for row in range(6):
      for col in range(7):
        x, y = CELL * (col + 1), CELL * (row + 1)
        if grid[row, col] < 0:
          draw.ellipse((x - CELL * .42, y - CELL * .42, x + CELL * .42, y + CELL * .42),
                       fill=(150, 180, 230))
        else:
          _stone(draw, x, y, int(grid[row, col]), CELL * 0.42)
    if last_move is not None:
      row = int(np.argmax(grid[:, last_move] >= 0))
      _ring(draw, CELL * (last_move + 1), CELL * (row + 1), CELL * 0.2)
    return image
  # othello: pgx stores stones from the mover's side (1 = the player to move)
  image, draw = _empty_board(8, 8, (40, 140, 70))
  for i in range(9):
    p = CELL // 2 + i * CELL
    draw.line((CELL // 2, p, CELL // 2 + 8 * CELL, p), fill=(0, 0, 0))
    draw.line((p, CELL // 2, p, CELL // 2 + 8 * CELL), fill=(0, 0, 0))
  first_to_move = int(np.asarray(state._x.turn)) % 2 == 0
  for cell, value in enumerate(board):
    if value != 0:
      mine = value == 1
      player = 0 if mine == first_to_move else 1
      _stone(draw, CELL * (cell % 8 + 1), CELL * (cell // 8 + 1), player, CELL * 0.42)
  if last_move is not None and last_move < 64:
    _ring(draw, CELL * (last_move % 8 + 1), CELL * (last_move // 8 + 1), CELL * 0.2)
  return image


def png_bytes(image) -> bytes:
  buffer = io.BytesIO()
  image.save(buffer, format="PNG", optimize=True)
  return buffer.getvalue()


def save_gif(images: list, path: str, *, frame_ms: int = 100, last_frame_ms: int = 1500) -> None:
  """An animated GIF of `images` (PIL), looping; the last frame lingers."""
  if not images:
    raise ValueError("no frames to write")
  size = (max(i.width for i in images), max(i.height for i in images))
  Image, _ = _pil()
  frames = []
  for image in images:
    canvas = Image.new("RGB", size, "white")
    canvas.paste(image, (0, 0))
    frames.append(canvas.convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
  durations = [frame_ms] * (len(frames) - 1) + [last_frame_ms]
  frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0,
                 optimize=False, disposal=1)
