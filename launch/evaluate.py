r"""Play a trained agent against a fixed opponent and print the result.

  python launch/evaluate.py --checkpoint=runs/c4 --opponent=uct:200 --games=256

Colours alternate (the agent moves first in half of the games). Prints one
JSON line: wins, draws, losses, the score (win 1, draw 1/2) with its 95%
Wilson interval, and the win rate; with --time_moves=N also each side's mean
wall clock per move in a single game (batch of one, compilation excluded).
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

flags.DEFINE_string("checkpoint", None, "Workdir, checkpoints dir or step dir.")
_common.define_num_simulations("Search budget of the agent "
                                "(default: what it trained with; 0 = raw policy).")
flags.DEFINE_string("opponent", "random", "An agent spec: random, uct:N (random-rollout UCT, N "
                    "simulations), minimax (tic_tac_toe) or ckpt:PATH[@SIMS].")
flags.DEFINE_integer("games", 256, "Games to play (even: half with each colour).",
                     upper_bound=10_000_000)
flags.DEFINE_integer("batch", 128, "Games played at once.", upper_bound=1_000_000)
flags.DEFINE_integer("seed", 0, "Seed of the match.", lower_bound=0, upper_bound=2**31 - 1)
flags.DEFINE_integer("time_moves", 0, "Also time each side's move alone (one game, "
                     "compilation left out) over this many positions of a random game "
                     "and print the mean seconds per move (0: off).",
                     lower_bound=0, upper_bound=10_000)
FLAGS = flags.FLAGS


def make_opponent(text: str, env):
  from agents import specs
  spec = specs.parse(text)
  if not specs.is_jax(spec):
    raise ValueError(f"--opponent={text}: external engines play in launch/tournament.py")
  return specs.make_agent(spec, env)


def main(argv):
  _common.start(argv, "checkpoint")
  import jax
  import agents
  from agents import report
  from zerogo import arena

  def run():
    if FLAGS.games < 2 or FLAGS.games % 2 or FLAGS.batch < 2 or FLAGS.batch % 2:
      raise ValueError("--games and --batch must be even and at least 2")
    agent = agents.load_agent(FLAGS.checkpoint, num_simulations=FLAGS.num_simulations)
    if agent.env.num_players != 2:
      raise ValueError(f"evaluate.py plays two-player games; {agent.env_id} is a one-player "
                       "game (its greedy return is printed when training ends)")
    opponent = make_opponent(FLAGS.opponent, agent.env)
    totals = dict.fromkeys(("wins", "draws", "losses", "first_wins", "second_wins"), 0)
    games = FLAGS.games
    for played in range(0, games, FLAGS.batch):
      key = jax.random.fold_in(jax.random.PRNGKey(FLAGS.seed), played)
      n = min(FLAGS.batch, games - played)
      result = jax.device_get(arena.play_match(agent, opponent, key, n))
      wins, first = result.score == 1, result.a_first
      counts = dict(result.summary(), first_wins=(wins & first).sum(),
                    second_wins=(wins & ~first).sum())
      totals = {k: v + int(counts[k]) for k, v in totals.items()}
    timing = {}
    if FLAGS.time_moves:
      timing = {"seconds_per_move": {
          side: round(arena.seconds_per_move(player, jax.random.PRNGKey(FLAGS.seed),
                                             FLAGS.time_moves), 4)
          for side, player in (("agent", agent), ("opponent", opponent))}}
    print(json.dumps({"agent": agent.name, "env": agent.env_id,
                      "num_simulations": agent.num_simulations,
                      "opponent": FLAGS.opponent, "games": games, **totals,
                      "score": (totals["wins"] + 0.5 * totals["draws"]) / games,
                      "score_95ci": list(report.score_interval(
                          totals["wins"], totals["draws"], games)),
                      "win_rate": totals["wins"] / games, **timing}))

  _common.run_guarded(run)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
