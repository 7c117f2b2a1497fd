"""SGF (FF[4]) game records for Go: write every game, read main lines back.

Moves are pgx actions (see envs/go.py for the coordinate convention);
black moves first.
"""

from __future__ import annotations

import dataclasses
import datetime

from envs import go


@dataclasses.dataclass
class GameRecord:
  size: int
  komi: float
  moves: list[int]            # pgx actions, alternating from black
  black: str = "?"
  white: str = "?"
  result: str = ""            # B+3.5, W+R, 0, ...
  date: str = ""
  comment: str = ""


def _escape(text: str) -> str:
  return str(text).replace("\\", "\\\\").replace("]", "\\]")


def write(record: GameRecord) -> str:
  """The game as one SGF string."""
  from zerogo import __version__
  date = record.date or datetime.date.today().isoformat()
  props = [("FF", "4"), ("GM", "1"), ("CA", "UTF-8"), ("AP", f"zerogo:{__version__}"),
           ("SZ", str(record.size)), ("KM", f"{record.komi:g}"), ("RU", "Chinese"),
           ("PB", record.black), ("PW", record.white), ("DT", date)]
  if record.result:
    props.append(("RE", record.result))
  if record.comment:
    props.append(("GC", record.comment))
  root = ";" + "".join(f"{k}[{_escape(v)}]" for k, v in props)
  nodes = [f";{'BW'[i % 2]}[{go.action_to_sgf(a, record.size)}]"
           for i, a in enumerate(record.moves)]
  lines = [root]
  for start in range(0, len(nodes), 10):
    lines.append("".join(nodes[start:start + 10]))
  return "(" + "\n".join(lines) + ")\n"


def _nodes(text: str) -> list[dict[str, list[str]]]:
  """The main line of an SGF collection's first game, as property dicts."""
  nodes: list[dict[str, list[str]]] = []
  i, n, depth, started = 0, len(text), 0, False
  while i < n:
    ch = text[i]
    if ch == "(":
      depth += 1
      started = True
      i += 1
    elif ch == ")":
      depth -= 1
      i += 1
      if depth == 0:
        break
      # The first variation is the main line: skip its siblings.
      while i < n and text[i] in " \t\r\n":
        i += 1
      while i < n and text[i] == "(":
        i = _skip_tree(text, i)
        while i < n and text[i] in " \t\r\n":
          i += 1
    elif ch == ";":
      nodes.append({})
      i += 1
    elif ch.isalpha():
      j = i
      while j < n and text[j].isalpha():
        j += 1
      ident = text[i:j]
      values = []
      while True:
        while j < n and text[j] in " \t\r\n":
          j += 1
        if j >= n or text[j] != "[":
          break
        j += 1
        value = []
        while j < n and text[j] != "]":
          if text[j] == "\\" and j + 1 < n:
            j += 1
          value.append(text[j])
          j += 1
        if j >= n:
          raise ValueError("unterminated SGF property value")
        values.append("".join(value))
        j += 1
      if not nodes:
        raise ValueError("SGF property before the first node")
      if not values:
        raise ValueError(f"SGF property {ident} has no value")
      nodes[-1][ident] = values
      i = j
    elif ch in " \t\r\n":
      i += 1
    else:
      raise ValueError(f"unexpected {ch!r} at offset {i} of the SGF text")
  if not started or not nodes:
    raise ValueError("no SGF game found")
  return nodes


def _skip_tree(text: str, i: int) -> int:
  depth = 0
  while i < len(text):
    ch = text[i]
    if ch == "[":
      i += 1
      while i < len(text) and text[i] != "]":
        i += 2 if text[i] == "\\" else 1
    elif ch == "(":
      depth += 1
    elif ch == ")":
      depth -= 1
      if depth == 0:
        return i + 1
    i += 1
  raise ValueError("unbalanced parentheses in the SGF text")


def read(text: str) -> GameRecord:
  """Parses the main line of a Go SGF game (moves must alternate from black;
  setup stones are not supported). ValueError on anything else."""
  nodes = _nodes(text)
  root = nodes[0]
  if root.get("GM", ["1"])[0] != "1":
    raise ValueError("not a Go game (GM is not 1)")
  if "AB" in root or "AW" in root:
    raise ValueError("SGF setup stones (handicap) are not supported")
  size = int(root.get("SZ", ["19"])[0].split(":")[0])
  komi = float(root.get("KM", ["0"])[0] or 0)
  moves = []
  for node in nodes[1:] if "B" not in root and "W" not in root else nodes:
    for color in ("B", "W"):
      if color in node:
        expected = "BW"[len(moves) % 2]
        if color != expected:
          raise ValueError(f"move {len(moves) + 1} is by {color}, expected {expected}")
        moves.append(go.sgf_to_action(node[color][0], size))
  return GameRecord(size=size, komi=komi, moves=moves, black=root.get("PB", ["?"])[0],
                    white=root.get("PW", ["?"])[0], result=root.get("RE", [""])[0],
                    date=root.get("DT", [""])[0], comment=root.get("GC", [""])[0])
