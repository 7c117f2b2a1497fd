"""Tournament game records: games.jsonl rows, Go result strings, SGF files."""

import json

import numpy as np
import pytest

from zerogo import records, sgf


@pytest.mark.parametrize("score_first, reason, area_score, result", [
    (1.0, "resign", None, "B+R"),     # white resigned
    (0.0, "illegal", None, "W+F"),    # black sent an illegal move
    (0.5, "end", 0.0, "0"),
    (0.0, "end", -6.5, "W+6.5"),      # the margin is our count, sign dropped
    (1.0, "end", 3.0, "B+3"),
    (1.0, "end", None, "B+"),         # no count: the winner alone
])
def test_go_result(score_first, reason, area_score, result):
  assert records.go_result(score_first, reason, area_score) == result


def test_row_of_a_game_that_is_not_go():
  row = records.game_row(3, "tic_tac_toe", "uct:4", "random", np.array([4, 0, 8]), 1, "end")
  assert row == {"game": 3, "first": "uct:4", "second": "random", "moves": ["5", "1", "9"],
                 "actions": [4, 0, 8], "score_first": 1.0, "winner": "uct:4",
                 "reason": "end"}
  json.dumps(row)  # numpy values were made plain
  draw = records.game_row(1, "tic_tac_toe", "a", "b", [], 0.5, "end")
  assert draw["winner"] is None


def _one_black_stone():
  """9x9 with one black stone: all 80 empty points touch only black, so our
  area count is 81 - komi."""
  board = np.zeros((9, 9), np.int8)
  board[4, 4] = 1
  return board


def test_go_row_scores_the_final_board_and_names_engines_that_disagree():
  row = records.game_row(1, "go_9x9", "ours", "gnugo", [40, 81, 81], 1.0, "end", komi=7.5,
                         final_board=_one_black_stone(),
                         engine_scores={"gnugo": 70.5, "ours": 73.5, "mute": None})
  assert row["moves"] == ["E5", "pass", "pass"]
  assert (row["black"], row["white"], row["komi"]) == ("ours", "gnugo", 7.5)
  assert row["area_score"] == 81 - 7.5 and row["result"] == "B+73.5"
  assert row["score_disagreements"] == ["gnugo"]
  assert list(row)[-4:] == ["area_score", "result", "engine_scores", "score_disagreements"]
  resigned = records.game_row(2, "go_9x9", "a", "b", [40], 0.0, "resign", komi=7.5)
  assert "area_score" not in resigned and resigned["result"] == "W+R"
  assert "engine_scores" not in resigned
  with pytest.raises(ValueError, match="komi"):
    records.game_row(1, "go_9x9", "a", "b", [], 1.0, "end")


def test_game_log_writes_rows_and_one_sgf_per_go_game(tmp_path):
  log = records.GameLog(str(tmp_path), "go_9x9", komi=7.5)
  log.add("a", "b", [40, 81, 81], 1.0, "end", final_board=_one_black_stone())
  log.add("b", "a", [40], 1.0, "resign")
  log.close()
  rows = [json.loads(line) for line in open(tmp_path / "games.jsonl")]
  assert rows == log.rows and [r["game"] for r in rows] == [1, 2]
  assert [r["sgf"] for r in rows] == ["sgf/game_00001.sgf", "sgf/game_00002.sgf"]
  first = sgf.read(open(tmp_path / rows[0]["sgf"]).read())
  assert (first.size, first.komi, first.moves) == (9, 7.5, [40, 81, 81])
  assert (first.black, first.white, first.result) == ("a", "b", "B+73.5")
  assert first.comment == "reason: end"
  assert sgf.read(open(tmp_path / rows[1]["sgf"]).read()).result == "B+R"

  (tmp_path / "ttt").mkdir()
  other = records.GameLog(str(tmp_path / "ttt"), "tic_tac_toe")
  other.add("a", "b", [4], 1.0, "illegal")
  other.close()
  assert "sgf" not in other.rows[0] and not (tmp_path / "ttt" / "sgf").exists()


def test_score_disagreement_lines():
  assert records.score_disagreement_lines([{"game": 1}]) == []
  rows = [{"engine_scores": {"x": 1.0}, "score_disagreements": ["x"]},
          {"engine_scores": {"x": 2.0}, "score_disagreements": []}, {}]
  assert records.score_disagreement_lines(rows) == [
      "", "Score disagreements with engines' own counts: 1 of 2 games (see games.jsonl)."]
