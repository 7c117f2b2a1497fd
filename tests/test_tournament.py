"""launch/tournament.py and launch/play.py end to end (tic-tac-toe: fast)."""

import json

import pytest

from conftest import run_launcher, untrained_checkpoint


def test_round_robin_ranks_players_by_strength(tmp_path):
  out = tmp_path / "tour"
  run_launcher("tournament.py", "--env=tic_tac_toe", "--agents=uct:4,random,minimax",
               "--games_per_pair=40", f"--out={out}", "--progress=false", "--bootstrap=100")
  games = [json.loads(line) for line in open(out / "games.jsonl")]
  assert len(games) == 120
  for pair in (("uct:4", "random"), ("uct:4", "minimax"), ("random", "minimax")):
    mine = [g for g in games if {g["first"], g["second"]} == set(pair)]
    assert len(mine) == 40
    assert sum(g["first"] == pair[0] for g in mine) == 20  # colours alternate
  assert all(g["score_first"] in (0.0, 0.5, 1.0) and len(g["moves"]) >= 5 for g in games)
  assert not any(g["winner"] == "random" for g in games if "minimax" in (g["first"], g["second"]))
  rows = [line for line in open(out / "standings.md") if line.startswith("| 1 ")
          or line.startswith("| 2 ") or line.startswith("| 3 ")]
  order = [row.split("`")[1] for row in rows]
  assert order == ["minimax", "uct:4", "random"]
  assert "anchored at `random` = 0" in open(out / "standings.md").read()


@pytest.mark.parametrize("args, message", [
    (["--env=tic_tac_toe", "--agents=random,alphago"], "unknown agent spec 'alphago'"),
    (["--env=tic_tac_toe", "--agents=random,uct:0"], "simulation count from 1"),
    (["--env=tic_tac_toe", "--agents=random,uct:99999999999999999999"],
     "simulation count from 1"),
    (["--env=tic_tac_toe", "--agents=random,uct:2", "--bootstrap=0"], "--bootstrap"),
    (["--env=CartPole-v1", "--agents=random,uct:2"], "two-player games"),
    (["--env=go_9x9", "--agents=random,gtp:cat", "--gtp_timeout_s=5"], "not GTP"),
    (["--env=tic_tac_toe", "--agents=random"], "at least two"),
    (["--env=tic_tac_toe", "--agents=random,gtp:gnugo --mode gtp"], "GTP engines play Go"),
    (["--env=chekers", "--agents=random,uct:2"], "unknown game 'chekers'"),
    (["--env=connect_four", "--agents=random,minimax"], "minimax is exact only"),
    (["--env=go_9x9", "--agents=random,gtp:/no/such/engine"], "cannot start GTP engine"),
    (["--env=tic_tac_toe", "--agents=random,ckpt:/no/such/dir"], "/no/such/dir"),
])
def test_tournament_bad_input_is_one_sentence(tmp_path, args, message):
  proc = run_launcher("tournament.py", *args, f"--out={tmp_path}/t", "--progress=false",
                      check=False, timeout=300)
  assert proc.returncode == 2, proc.stderr[-2000:]
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and message in last, proc.stderr[-2000:]
  assert "Traceback" not in proc.stderr


SLOW_ENGINE = """
import sys, time
for line in sys.stdin:
  if line.startswith("genmove"):
    time.sleep(600)
  sys.stdout.buffer.write(b"= \\xff\\xfe ok\\n\\n")
  sys.stdout.flush()
"""


def test_gtp_client_times_out_and_decodes_bad_bytes(tmp_path):
  import sys
  import time
  from agents import external
  engine = tmp_path / "slow.py"
  engine.write_text(SLOW_ENGINE)
  client = external.GtpClient(f"{sys.executable} {engine}", timeout_s=1.0)
  assert client.send("boardsize 9").endswith("ok")  # undecodable bytes replaced
  started = time.monotonic()
  with pytest.raises(external.GtpError, match="did not answer 'genmove b' within 1 s"):
    client.send("genmove b")
  client.close()
  assert time.monotonic() - started < 10
  cat = external.GtpClient("cat", timeout_s=30.0)
  started = time.monotonic()
  with pytest.raises(external.GtpError, match="not GTP"):
    cat.send("boardsize 9")  # an echo is not an answer: refused at once, not at the timeout
  cat.close()
  assert time.monotonic() - started < 10


def test_play_in_the_terminal_re_asks_bad_input_and_finishes(tmp_path):
  # Human plays X first against exact minimax: centre, then corners; junk
  # and an occupied cell are asked again; the game must end (draw or loss).
  moves = "5\nhello\n5\n1\n3\n7\n9\n2\n4\n6\n8\n"
  proc = run_launcher("play.py", "--checkpoint=minimax", "--env=tic_tac_toe", stdin=moves)
  out = proc.stdout
  assert "'hello' is not a number" in out and "5 is not legal here" in out
  assert "you played 5" in out and "minimax played" in out
  assert " X | " in out or "| X" in out
  assert out.rstrip().splitlines()[-1] in {f"{v} after {n} moves." for v in ("Draw", "You lose")
                                           for n in range(5, 10)}


def test_play_loads_checkpoints_and_rejects_bad_input(tmp_path):
  workdir = untrained_checkpoint(str(tmp_path / "c4"), "connect_four")
  proc = run_launcher("play.py", f"--checkpoint={workdir}", "--num_simulations=2",
                      "--first=agent", stdin="9\n4\nquit\n")
  assert "out of range (1..7)" in proc.stdout and "You lose (resignation)" in proc.stdout
  assert "|" in proc.stdout  # the board was drawn
  proc = run_launcher("play.py", "--checkpoint=uct:5", check=False)
  assert proc.returncode == 2 and "say which game with --env" in proc.stderr
