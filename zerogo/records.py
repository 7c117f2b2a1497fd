"""Tournament game records: one JSON row per game (games.jsonl) and, for Go,
the result string and one SGF file per game.

`GameLog` writes each game as soon as it ends; `game_row` and `go_result`
are the pure parts it is made of. In Go the first player is
black (pgx's first mover).
"""

from __future__ import annotations

import json
import os
from typing import Sequence

import numpy as np

from envs import go, notation
from zerogo import sgf


def go_result(score_first: float, reason: str, area_score: float | None = None) -> str:
  """SGF/GTP result of a Go game from black's score (1 win, 0.5 draw, 0
  loss): "B+R"/"W+R" for a resignation, "B+F"/"W+F" for a forfeit by an
  illegal move, "0" for a draw, else the winner and the margin of our area
  count `area_score` ("W+6.5"; "W+" when there is no count)."""
  winner = "B" if score_first == 1 else "W"
  if reason in ("resign", "illegal"):
    return f"{winner}+{'R' if reason == 'resign' else 'F'}"
  if score_first == 0.5:
    return "0"
  # pgx's rewards decided the winner; the margin is our area count.
  margin = abs(area_score or 0.0)
  return f"{winner}+{margin:g}" if margin else f"{winner}+"


def game_row(number: int, env_id: str, first: str, second: str, actions: Sequence[int],
             score_first: float, reason: str, *, komi: float | None = None,
             final_board: np.ndarray | None = None,
             engine_scores: dict[str, float | None] | None = None) -> dict:
  """The games.jsonl row of game `number` (from 1): players, moves as text
  and as actions, the first player's score (1, 0.5, 0), the winner (None
  for a draw) and `reason` ("end", "resign", "illegal").

  Go rows add black, white, komi, `area_score` (black minus white minus
  komi by our count of `final_board`, int8 [size, size] as `go.stones`
  gives it, when given), `result` (`go_result`) and, with `engine_scores`
  (each engine's own count by player name, None where it would not say),
  `score_disagreements`: the engines whose count differs from ours."""
  row = {"game": number, "first": first, "second": second,
         "moves": [notation.move_to_text(env_id, a) for a in actions],
         "actions": [int(a) for a in actions], "score_first": float(score_first),
         "winner": first if score_first == 1 else (second if score_first == 0 else None),
         "reason": reason}
  if not go.is_go(env_id):
    return row
  if komi is None:
    raise ValueError(f"a {env_id} game row needs the komi")
  row.update(black=first, white=second, komi=komi)
  if final_board is not None:
    row["area_score"] = go.area_score(final_board, komi)
  row["result"] = go_result(score_first, reason, row.get("area_score"))
  if engine_scores:
    row["engine_scores"] = engine_scores
    ours = row.get("area_score")
    row["score_disagreements"] = sorted(
        name for name, score in engine_scores.items()
        if score is not None and ours is not None and score != ours)
  return row


def score_disagreement_lines(rows: Sequence[dict]) -> list[str]:
  """Markdown lines counting the Go games whose engine counts differ from
  ours, or none when no engine counted."""
  counted = sum("engine_scores" in row for row in rows)
  if not counted:
    return []
  disagreements = sum(bool(row.get("score_disagreements")) for row in rows)
  return ["", f"Score disagreements with engines' own counts: {disagreements} "
          f"of {counted} games (see games.jsonl)."]


class GameLog:
  """OUT/games.jsonl, and for Go one SGF file per game under OUT/sgf/ (the
  row's "sgf" names it). Every game is on disk as soon as it ends: an
  interrupted tournament keeps what it played. `rows`: the rows so far."""

  def __init__(self, out_dir: str, env_id: str, komi: float | None = None):
    self.out_dir, self.env_id, self.komi = out_dir, env_id, komi
    self.rows: list[dict] = []
    self._file = open(os.path.join(out_dir, "games.jsonl"), "w")

  def add(self, first: str, second: str, actions: Sequence[int], score_first: float,
          reason: str, *, final_board: np.ndarray | None = None,
          engine_scores: dict[str, float | None] | None = None) -> dict:
    """Writes the next game (see `game_row`) and returns its row."""
    row = game_row(len(self.rows) + 1, self.env_id, first, second, actions, score_first,
                   reason, komi=self.komi, final_board=final_board,
                   engine_scores=engine_scores)
    if go.is_go(self.env_id):
      row["sgf"] = f"sgf/game_{row['game']:05d}.sgf"
      os.makedirs(os.path.join(self.out_dir, "sgf"), exist_ok=True)
      with open(os.path.join(self.out_dir, row["sgf"]), "w") as f:
        f.write(sgf.write(sgf.GameRecord(
            size=go.board_size(self.env_id), komi=row["komi"], moves=row["actions"],
            black=row["black"], white=row["white"], result=row["result"],
            comment=f"reason: {row['reason']}")))
    self.rows.append(row)
    self._file.write(json.dumps(row) + "\n")
    self._file.flush()
    return row

  def close(self) -> None:
    self._file.close()
