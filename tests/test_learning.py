"""Learning: the shipped tic-tac-toe flagfile trains to exact play.

Runs launch/configs/tic_tac_toe.flags as a user would (one CPU device), then
checks the agent against the exact solver in agents/tic_tac_toe_solver.py.
"""

import pytest

import envs
import agents
from agents import tic_tac_toe_solver as ttt_solver
from conftest import run_launcher


@pytest.mark.slow(seconds=90)
@pytest.mark.optimized
def test_tic_tac_toe_flagfile_learns_minimax_play(tmp_path):
  run_launcher("selfplay.py", "--flagfile=launch/configs/tic_tac_toe.flags",
               f"--workdir={tmp_path}", "--progress=false", "--nosummary", devices=1, timeout=900)
  agent = agents.load_agent(str(tmp_path))
  env = envs.make("tic_tac_toe")
  states = ttt_solver.reachable_states(env)
  assert states.current_player.shape[0] == 4520   # every non-terminal position
  moves = ttt_solver.agent_moves(agent, states)
  rate = ttt_solver.optimal_move_rate(agent, states, moves=moves)
  print(f"optimal-move rate over 4520 positions: {rate:.4f}")
  # Exact play: a minimax-optimal move in every reachable position
  # (results/alphazero_tic_tac_toe/README.md: 100% on 1 and 2 cores).
  assert rate == 1.0, f"{round((1 - rate) * 4520)} of the 4520 positions get a suboptimal move"

  results = ttt_solver.games_against_minimax(agent, env, moves=moves)
  print(f"{len(results)} games against minimax: {results.count(0.0)} draws, "
        f"{results.count(-1.0)} losses")
  assert len(results) >= 2 and min(results) >= 0.0, "lost a game against minimax"


def test_solver_is_exact():
  # Sanity of the reference itself: the empty board is a draw, and from
  # X at 0, O at 1 (a mistake) the side to move (X) wins.
  empty = (False,) * 9
  assert ttt_solver.value(empty, empty) == 0
  x = (True,) + (False,) * 8
  o = (False, True) + (False,) * 7
  assert ttt_solver.value(x, o) == 1
  # Every reply of O to a centre opening that is not a corner loses.
  centre = tuple(i == 4 for i in range(9))
  values = ttt_solver.action_values(empty, centre)
  assert {a for a, v in values.items() if v == 0} == {0, 2, 6, 8}
