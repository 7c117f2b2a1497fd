"""Recorded games to replay on the web board: the tournament directories
given on the command line (`games.jsonl`, `standings.md`, `sgf/*.sgf`) and
SGF files in them.

Only files inside those directories are ever read: a directory is named by
its index in the list, a game by its number in games.jsonl, and an SGF file
by a name that must be one of the directory's own `*.sgf` files (checked
against a listing, never joined blindly), so a name like `../../etc/passwd`
is simply not found.
"""

from __future__ import annotations

import collections
import json
import os
import re
import threading
from typing import Any

import numpy as np

from envs import board_svg, go, notation
from zerogo import sgf

_SGF_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}\.sgf")
MAX_FILE_BYTES = 32 << 20


class LibraryError(ValueError):
  """A directory given on the command line cannot be served (one sentence)."""


def _read_rows(path: str) -> list[dict]:
  rows = []
  if not os.path.exists(path):
    return rows
  if os.path.getsize(path) > MAX_FILE_BYTES:
    raise LibraryError(f"{path} is larger than {MAX_FILE_BYTES >> 20} MiB")
  with open(path) as f:
    for number, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        row = json.loads(line)
        actions = [int(a) for a in row["actions"]]
      except (ValueError, KeyError, TypeError):
        raise LibraryError(f"{path}, line {number}: not a games.jsonl row") from None
      rows.append({**row, "actions": actions})
  return rows


class Directory:
  """One tournament (or SGF) directory, read when the server starts."""

  def __init__(self, path: str):
    if not os.path.isdir(path):
      raise LibraryError(f"--games={path} is not a directory")
    self.path = os.path.realpath(path)
    self.name = os.path.basename(self.path.rstrip("/")) or self.path
    self.rows = _read_rows(os.path.join(self.path, "games.jsonl"))
    standings = os.path.join(self.path, "standings.md")
    self.standings = ""
    if os.path.isfile(standings):
      with open(standings, errors="replace") as f:
        self.standings = f.read(1 << 20)
    if not self.rows and not self.sgf_names():
      raise LibraryError(f"--games={path} holds neither games.jsonl nor .sgf files")
    self.env_id = self._game()

  def _game(self) -> str | None:
    heading = re.search(r"^# Tournament: (\S+)", self.standings, re.MULTILINE)
    if heading:
      return heading.group(1)
    names = self.sgf_names()
    if names:  # Go: the size from the first record
      return f"go_{self.read_sgf(names[0]).size}x{self.read_sgf(names[0]).size}"
    return None

  def sgf_names(self) -> list[str]:
    """The directory's SGF files, as `name` or `sgf/name`."""
    names = []
    for sub in ("", "sgf"):
      folder = os.path.join(self.path, sub)
      if os.path.isdir(folder):
        names += [os.path.join(sub, n) if sub else n for n in sorted(os.listdir(folder))
                  if _SGF_NAME.fullmatch(n) and os.path.isfile(os.path.join(folder, n))]
    return names

  def read_sgf(self, name: str) -> sgf.GameRecord:
    if name not in self.sgf_names():  # only listed files: no traversal
      raise KeyError(name)
    path = os.path.realpath(os.path.join(self.path, name))
    if os.path.commonpath([path, self.path]) != self.path:
      raise KeyError(name)
    if os.path.getsize(path) > MAX_FILE_BYTES:
      raise LibraryError(f"{name} is too large")
    with open(path, errors="replace") as f:
      return sgf.read(f.read())

  def summary(self) -> dict:
    return {"name": self.name, "env": self.env_id, "games": len(self.rows),
            "sgf": len(self.sgf_names())}


class Library:
  """Every `--games` directory, and the positions of the games in them
  (replayed through the env once per game, then cached)."""

  def __init__(self, paths: list[str], *, cached_games: int = 64):
    self.directories = [Directory(p) for p in paths]
    self._positions: collections.OrderedDict[tuple, list] = collections.OrderedDict()
    self._cached_games = cached_games
    self._lock = threading.Lock()
    self._envs: dict[str, Any] = {}

  def directory(self, index: int) -> Directory:
    if not 0 <= index < len(self.directories):
      raise KeyError(index)
    return self.directories[index]

  def listing(self, index: int) -> dict:
    d = self.directory(index)
    games = [{"game": r.get("game", i + 1), "first": str(r.get("first", "?")),
              "second": str(r.get("second", "?")), "winner": r.get("winner"),
              "reason": r.get("reason", ""), "moves": len(r["actions"])}
             for i, r in enumerate(d.rows)]
    return {**d.summary(), "standings": d.standings, "game_list": games,
            "sgf_files": d.sgf_names()}

  def _env(self, env_id: str, komi: float | None = None):
    key = (env_id, komi)
    if key not in self._envs:
      import jax

      import envs
      env = go.make(env_id, komi) if go.is_go(env_id) else envs.make(env_id)
      self._envs[key] = (env, jax.jit(env.step))
    return self._envs[key]

  def _replay(self, key: tuple, env_id: str, actions: list[int], komi=None) -> list:
    with self._lock:
      if key in self._positions:
        self._positions.move_to_end(key)
        return self._positions[key]
    import jax
    env, step = self._env(env_id, komi)
    state = env.init(jax.random.PRNGKey(0))
    states = [state]
    for action in actions:
      if not 0 <= action < env.num_actions or not bool(state.legal_action_mask[action]):
        break  # a forfeit by an illegal move: replay up to it
      state = step(state, np.int32(action), jax.random.PRNGKey(0))
      states.append(state)
    with self._lock:
      self._positions[key] = states
      while len(self._positions) > self._cached_games:
        self._positions.popitem(last=False)
    return states

  def position(self, index: int, *, game: int | None = None, sgf_name: str | None = None,
               ply: int = 0) -> dict:
    """The board after `ply` moves of a games.jsonl game (by number) or an
    SGF file, with the move list."""
    d = self.directory(index)
    if sgf_name is not None:
      record = d.read_sgf(sgf_name)
      env_id, actions, komi = f"go_{record.size}x{record.size}", record.moves, record.komi
      players = (record.black, record.white)
      result = record.result
      key = (index, "sgf", sgf_name)
    else:
      rows = [r for r in d.rows if r.get("game") == game]
      if not rows:
        raise KeyError(game)
      if d.env_id is None:
        raise LibraryError(f"{d.name}: no standings.md says which game these are")
      row = rows[0]
      env_id, actions, komi = d.env_id, row["actions"], row.get("komi")
      players = (str(row.get("first", "?")), str(row.get("second", "?")))
      result = row.get("result") or (f"winner: {row['winner']}" if row.get("winner")
                                     else "draw") + f" ({row.get('reason', '')})"
      key = (index, "game", game)
    if go.is_go(env_id) and not 2 <= go.board_size(env_id) <= 19:
      raise LibraryError(f"{env_id} is not a board this server draws")
    states = self._replay(key, env_id, actions, komi)
    ply = max(0, min(int(ply), len(states) - 1))
    return {"env": env_id, "players": list(players), "result": result, "ply": ply,
            "plies": len(states) - 1,
            "moves": [notation.move_to_text(env_id, a) for a in actions[:len(states) - 1]],
            "svg": board_svg.board_svg(env_id, states[ply],
                                       last_move=actions[ply - 1] if ply else None)}
