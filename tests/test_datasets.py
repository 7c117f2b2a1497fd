"""Game records -> training positions (zerogo/datasets.py): SGF written by
zerogo.sgf and by sgfmill, handicap, passes, resignations, tournament
games.jsonl, and bad records counted instead of crashing."""

import json
import os

import numpy as np
import pytest
import sgfmill.sgf
import sgfmill.sgf_moves

import envs
from envs import go
from zerogo import datasets, records, sgf

DATA = os.path.join(os.path.dirname(__file__), "data")


def _write(path, text):
  with open(path, "w") as f:
    f.write(text)
  return str(path)


def test_result_score_and_setup_plies():
  assert [datasets.result_score(r) for r in ("B+3.5", "W+R", "0", "Draw", "?", "")] == [
      1.0, 0.0, 0.5, 0.5, None, None]
  # Two black stones need a white pass between them and one after: white moves next.
  assert datasets.setup_plies([0, 1], [], "W", 3) == [0, 9, 1]
  assert datasets.setup_plies([0, 1], [], "B", 3) == [0, 9, 1, 9]
  assert datasets.setup_plies([], [4], "B", 3) == [9, 4]


def test_handicap_sgf_with_passes_and_resignation_replays(tmp_path):
  size = 7
  a = lambda v: go.vertex_to_action(v, size)
  handicap = [a("C3"), a("E5")]
  moves = [a("E3"), a("C5"), a("D4"), go.pass_action(size), a("D5"), a("B2")]
  text = sgf.write(sgf.GameRecord(size=size, komi=0.5, moves=moves, black="b", white="w",
                                  result="W+R", setup_black=handicap, first_color="W"))
  assert "AB[" in text and "PL[W]" in text
  back = sgf.read(text)
  assert back.setup_black == handicap and back.first_color == "W" and back.moves == moves
  positions, report = datasets.read_positions([_write(tmp_path / "h.sgf", text)], "go_7x7")
  assert report.games == 1 and report.skipped == 0
  assert len(positions) == len(moves)
  np.testing.assert_array_equal(positions.action, moves)
  # White moves first and won by resignation: +1 on white's moves, -1 on black's.
  np.testing.assert_array_equal(positions.value, [1, -1, 1, -1, 1, -1])
  first = positions.observation[0]
  for stone in handicap:  # the handicap stones are the opponent's (channel 1) for white
    row, col = divmod(stone, size)
    assert first[row, col, 1] and not first[row, col, 0]
    assert not positions.legal_action_mask[0, stone]
  assert first[0, 0, -1] == 1  # pgx's colour plane: white to move
  # The same game in sgfmill: its board before the last move (black's) is the
  # last observation (channel 0: the mover's stones, 1: the opponent's).
  game = sgfmill.sgf.Sgf_game.from_bytes(text.encode())
  board, plays = sgfmill.sgf_moves.get_setup_and_moves(game)
  for colour, point in plays[:-1]:
    if point is not None:
      board.play(point[0], point[1], colour)
  last = positions.observation[-1]
  mill = np.zeros((size, size), np.int8)
  for colour, (row, col) in board.list_occupied_points():
    mill[size - 1 - row, col] = 1 if colour == "b" else -1
  np.testing.assert_array_equal(last[..., 0].astype(np.int8) - last[..., 1], mill)


def test_sgf_written_by_sgfmill_replays(tmp_path):
  game = sgfmill.sgf.Sgf_game(size=7)
  root = game.get_root()
  root.set("KM", 9)
  root.set("RE", "B+4")
  root.set("RU", "Chinese")
  for colour, point in [("b", (3, 3)), ("w", (4, 4)), ("b", (2, 4)), ("w", None),
                        ("b", (4, 2))]:
    game.extend_main_sequence().set_move(colour, point)
  path = tmp_path / "mill.sgf"
  path.write_bytes(game.serialise())
  positions, report = datasets.read_positions([str(path)], "go_7x7")
  assert report.summary() == "1 games replayed" and len(positions) == 5
  # sgfmill rows count from the bottom: (3, 3) is D4, the centre.
  assert positions.action[0] == go.vertex_to_action("D4", 7)
  assert positions.action[3] == go.pass_action(7)
  np.testing.assert_array_equal(positions.value, [1, -1, 1, -1, 1])


def test_tournament_games_jsonl_replays(tmp_path):
  log = records.GameLog(str(tmp_path), "connect_four")
  log.add("a", "b", [3, 3, 4, 4, 5, 5, 6], 1.0, "end")      # a wins on the bottom row
  log.add("b", "a", [0, 1, 0, 1, 0, 1, 0], 1.0, "end")      # b wins a column
  log.close()
  positions, report = datasets.read_positions([str(tmp_path / "games.jsonl")],
                                              "connect_four")
  assert report.games == 2 and len(positions) == 14
  np.testing.assert_array_equal(positions.value[:7], [1, -1, 1, -1, 1, -1, 1])
  names = [report.player_names[i] for i in positions.player[:3]]
  assert names == ["a", "b", "a"]
  env = envs.make("connect_four")
  assert positions.observation.shape[1:] == env.observation_shape
  # Whole games are held out.
  train, held = datasets.split_by_game(positions, 0.5, seed=1)
  assert len(train) == len(held) == 7 and set(train.game).isdisjoint(held.game)


def test_bad_records_are_counted_with_the_first_reason(tmp_path):
  good = sgf.write(sgf.GameRecord(size=7, komi=9, moves=[24, 25], result="B+R"))
  _write(tmp_path / "a_good.sgf", good)
  _write(tmp_path / "b_illegal.sgf", "(;GM[1]SZ[7]RE[B+R];B[dd];W[dd])")
  _write(tmp_path / "c_garbage.sgf", "this is not SGF at all")
  _write(tmp_path / "d_size.sgf", "(;GM[1]SZ[9]RE[B+R];B[dd])")
  _write(tmp_path / "e_rules.sgf", "(;GM[1]SZ[7]RU[Martian]RE[B+R];B[dd])")
  _write(tmp_path / "f_noresult.sgf", "(;GM[1]SZ[7];B[dd];W[de])")
  _write(tmp_path / "g_offboard.sgf", "(;GM[1]SZ[7]RE[W+1];B[zz])")
  positions, report = datasets.read_positions([str(tmp_path)], "go_7x7")
  assert report.games == 1 and report.skipped == 6 and len(positions) == 2
  assert report.first_skip == "b_illegal.sgf: move 2 (D4) is illegal"
  # games.jsonl: broken JSON, a move of another game, a good row.
  rows = ["{not json", json.dumps({"moves": ["10"], "score_first": 1}),
          json.dumps({"moves": ["1", "2", "3", "4", "5", "6", "7"], "score_first": 0.5})]
  _write(tmp_path / "games.jsonl", "\n".join(rows) + "\n")
  positions, report = datasets.read_positions([str(tmp_path / "games.jsonl")], "tic_tac_toe")
  assert report.games == 1 and report.skipped == 2
  assert report.first_skip == "games.jsonl:1: not JSON"
  np.testing.assert_array_equal(positions.value, np.zeros(7))
  with pytest.raises(ValueError, match="does not exist"):
    datasets.read_positions([str(tmp_path / "missing")], "go_7x7")


def test_go_rows_of_another_board_size_are_skipped(tmp_path):
  log = records.GameLog(str(tmp_path), "go_7x7", komi=9.0)
  log.add("a", "b", [0, 48, 49, 49], 0.0, "end")
  log.close()
  positions, report = datasets.read_positions([str(tmp_path / "games.jsonl")], "go_9x9")
  assert report.games == 0 and "not go_9x9 moves" in report.first_skip
  # The directory holds each game twice (games.jsonl, sgf/): read once.
  positions, report = datasets.read_positions([str(tmp_path)], "go_7x7")
  assert report.games == 1 and len(positions) == 4


def test_shipped_gnugo_sample_replays():
  positions, report = datasets.read_positions([os.path.join(DATA, "gnugo_7x7")], "go_7x7")
  assert report.skipped == 0 and report.games >= 30
  assert set(np.unique(positions.value)) == {-1.0, 1.0}
  assert positions.legal_action_mask[np.arange(len(positions)), positions.action].all()
