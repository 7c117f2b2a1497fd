r"""Serve a trained Go agent over GTP on stdin/stdout.

  python launch/gtp.py --checkpoint=runs/go9 --num_simulations=64

Point GoGui, Sabaki or any GTP controller at this command, or play it
against GNU Go with the tournament tool:

  python launch/tournament.py --env=go_9x9 --out=runs/vs_gnugo \
    --agents='gtp:python launch/gtp.py --checkpoint=runs/go9,gtp:/usr/games/gnugo --mode gtp'

Only GTP goes to stdout; messages go to stderr.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

flags.DEFINE_string("checkpoint", None, "Workdir, checkpoints dir or step dir of a Go agent.")
_common.define_num_simulations("Search budget per move (default: what it "
                                "trained with; 0 = raw policy).")
flags.DEFINE_float("resign_threshold", -0.95, "Resign when the value estimate (in [-1, 1], "
                   "for the side to move) is below this; -1 never resigns.")
flags.DEFINE_integer("min_moves_before_resign", 20, "Never resign before this many moves.")
flags.DEFINE_integer("seed", 0, "Seed of the search.", lower_bound=0, upper_bound=2**31 - 1)
flags.DEFINE_string("name", "zerogo", "Name reported to the controller.")
FLAGS = flags.FLAGS


def _quiet_closed_stdout() -> None:
  """After a controller closed the pipe, Python's final flush of stdout
  would print 'Exception ignored ... BrokenPipeError': point it at devnull."""
  try:
    sys.stdout.flush()
  except BrokenPipeError:
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv):
  _common.start(argv, "checkpoint")
  import agents
  from zerogo import gtp

  def serve():
    if FLAGS.num_simulations is not None and FLAGS.num_simulations < 0:
      raise ValueError(f"--num_simulations must be >= 0, got {FLAGS.num_simulations}")
    agent = agents.load_agent(FLAGS.checkpoint, num_simulations=FLAGS.num_simulations)
    engine = gtp.GtpEngine(agent, name=FLAGS.name, resign_threshold=FLAGS.resign_threshold,
                           min_moves_before_resign=FLAGS.min_moves_before_resign,
                           seed=FLAGS.seed)
    print(f"zerogo GTP engine ready: {agent.name} on {agent.env_id}, "
          f"{agent.num_simulations} simulations per move", file=sys.stderr)
    # Bytes in and out: the engine decodes (and survives) any input, whatever
    # the locale's encoding.
    engine.serve(sys.stdin.buffer, sys.stdout.buffer)
    _quiet_closed_stdout()

  _common.run_guarded(serve)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
