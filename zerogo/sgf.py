"""SGF (FF[4]) game records for Go: write every game, read main lines back.

Moves are pgx actions (see envs/go.py for the coordinate convention).
Black moves first unless the record has setup stones (handicap `AB`, or
`AW`): then `first_color` (the `PL` property, else the colour of the
first move) says who starts.
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
  setup_black: list[int] = dataclasses.field(default_factory=list)  # AB: handicap stones
  setup_white: list[int] = dataclasses.field(default_factory=list)  # AW
  first_color: str = "B"      # who plays moves[0]: "B" or "W" (PL)
  rules: str = ""             # RU as written (Chinese, Japanese, ...)


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
  if record.setup_black:
    props.append(("HA", str(len(record.setup_black))))
  root = ";" + "".join(f"{k}[{_escape(v)}]" for k, v in props)
  for name, points in (("AB", record.setup_black), ("AW", record.setup_white)):
    if points:
      root += name + "".join(f"[{go.action_to_sgf(a, record.size)}]" for a in points)
  if record.setup_black or record.setup_white:
    root += f"PL[{record.first_color}]"
  colors = "BW" if record.first_color == "B" else "WB"
  nodes = [f";{colors[i % 2]}[{go.action_to_sgf(a, record.size)}]"
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


def _points(values: list[str], size: int) -> list[int]:
  """Setup stones: SGF points and compressed rectangles (`aa:cc`)."""
  out = []
  for value in values:
    if ":" not in value:
      out.append(go.sgf_to_action(value, size))
      continue
    corner, other = (go.sgf_to_action(v, size) for v in value.split(":", 1))
    (r0, c0), (r1, c1) = divmod(corner, size), divmod(other, size)
    out += [r * size + c for r in range(min(r0, r1), max(r0, r1) + 1)
            for c in range(min(c0, c1), max(c0, c1) + 1)]
  return out


def read(text: str) -> GameRecord:
  """Parses the main line of a Go SGF game: setup stones in the root (AB,
  AW), then moves that alternate from `PL` (else from the first move's
  colour; black without setup stones). ValueError on anything else."""
  nodes = _main_line(text)
  root = nodes[0]
  prop = lambda name, default="": root.get(name, [default])[0]
  if prop("GM", "1") != "1":
    raise ValueError("not a Go game (GM is not 1)")
  if any(name in node for node in nodes[1:] for name in ("AB", "AW", "AE")):
    raise ValueError("setup stones after the first node are not supported")
  size_text = prop("SZ", "19")
  if not size_text.strip().isdigit():
    raise ValueError(f"board size SZ[{size_text}] is not a square board size")
  size = int(size_text)
  if not 2 <= size <= 25:
    raise ValueError(f"board size {size} is not supported")
  try:
    komi = float(prop("KM") or 0)
  except ValueError:
    raise ValueError(f"komi KM[{prop('KM')}] is not a number") from None
  setup_black, setup_white = _points(root.get("AB", []), size), _points(root.get("AW", []), size)
  colors_played = [c for node in nodes for c in ("B", "W") if c in node]
  first = prop("PL").upper()[:1] or (colors_played[0] if colors_played else "B")
  if first not in ("B", "W"):
    raise ValueError(f"PL[{prop('PL')}] is not B or W")
  if not (setup_black or setup_white) and first != "B":
    raise ValueError("the first move is by W, but there are no setup stones")
  moves = []
  for node in nodes:  # the root may hold the first move
    for color in ("B", "W"):
      if color in node:
        expected = (first + ("W" if first == "B" else "B"))[len(moves) % 2]
        if color != expected:
          raise ValueError(f"move {len(moves) + 1} is by {color}, expected {expected}")
        moves.append(go.sgf_to_action(node[color][0], size))
  return GameRecord(size=size, komi=komi, moves=moves, black=prop("PB", "?"),
                    white=prop("PW", "?"), result=prop("RE"), date=prop("DT"),
                    comment=prop("GC"), setup_black=setup_black, setup_white=setup_white,
                    first_color=first, rules=prop("RU"))
