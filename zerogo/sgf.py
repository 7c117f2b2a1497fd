"""SGF (FF[4]) game records for Go: write every game, read main lines back.

Moves are pgx actions (see envs/go.py for the coordinate convention);
black moves first.
"""

from __future__ import annotations

import dataclasses
import datetime
import re

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
  props += [(k, v) for k, v in (("RE", record.result), ("GC", record.comment)) if v]
  root = ";" + "".join(f"{k}[{_escape(v)}]" for k, v in props)
  nodes = [f";{'BW'[i % 2]}[{go.action_to_sgf(a, record.size)}]"
           for i, a in enumerate(record.moves)]
  lines = [root] + ["".join(nodes[i:i + 10]) for i in range(0, len(nodes), 10)]
  return "(" + "\n".join(lines) + ")\n"


# One token after optional whitespace: a bracket or node mark, a property
# with its values, or any other character (an error).
_TOKEN = re.compile(r"\s*(?:([();])|([A-Za-z]+)((?:\s*\[(?:\\.|[^\\\]])*\])+)|(\S))", re.DOTALL)
_VALUE = re.compile(r"\[((?:\\.|[^\\\]])*)\]", re.DOTALL)


def _main_line(text: str) -> list[dict[str, list[str]]]:
  """The main line of an SGF collection's first game, as property dicts.
  Variations are written depth first, first variation first, so the main
  line is every node before the first ")"."""
  if not text.lstrip().startswith("("):
    raise ValueError("no SGF game found")
  nodes: list[dict[str, list[str]]] = []
  for token in _TOKEN.finditer(text):
    mark, ident, values, other = token.groups()
    if other is not None:
      raise ValueError(f"unexpected {other!r} at offset {token.start(4)} of the SGF text "
                       "(or an unterminated property value)")
    if mark == ")":
      break
    if mark == ";":
      nodes.append({})
    elif ident is not None:
      if not nodes:
        raise ValueError("SGF property before the first node")
      nodes[-1][ident] = [re.sub(r"\\(.)", r"\1", v, flags=re.DOTALL)
                          for v in _VALUE.findall(values)]
  if not nodes:
    raise ValueError("no SGF game found")
  return nodes


def read(text: str) -> GameRecord:
  """Parses the main line of a Go SGF game (moves must alternate from black;
  setup stones are not supported). ValueError on anything else."""
  nodes = _main_line(text)
  root = nodes[0]
  prop = lambda name, default="": root.get(name, [default])[0]
  if prop("GM", "1") != "1":
    raise ValueError("not a Go game (GM is not 1)")
  if "AB" in root or "AW" in root:
    raise ValueError("SGF setup stones (handicap) are not supported")
  size = int(prop("SZ", "19").split(":")[0])
  komi = float(prop("KM") or 0)
  moves = []
  for node in nodes:  # the root may hold the first move
    for color in ("B", "W"):
      if color in node:
        expected = "BW"[len(moves) % 2]
        if color != expected:
          raise ValueError(f"move {len(moves) + 1} is by {color}, expected {expected}")
        moves.append(go.sgf_to_action(node[color][0], size))
  return GameRecord(size=size, komi=komi, moves=moves, black=prop("PB", "?"),
                    white=prop("PW", "?"), result=prop("RE"), date=prop("DT"),
                    comment=prop("GC"))
