r"""The web board: play, watch and inspect agents in a browser.

  python launch/serve.py --checkpoint=runs/c4 [--num_simulations=N] \
      [--games=runs/tour_c4 ...] [--port=8000]

then open http://127.0.0.1:8000. Play the loaded agent (or random, uct:N,
minimax) at any two-player board game, with its value estimate and search
visits drawn on the board; replay the games of tournament directories
(--games, repeatable); watch a one-player agent (MinAtar, CartPole) play
an episode. --checkpoint may be repeated, or left out to play the
baselines only. Binds 127.0.0.1 unless --host says otherwise.
Needs the web extra: pip install -e '.[web]'.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

flags.DEFINE_multi_string("checkpoint", [], "Agent to offer: a workdir, checkpoints dir "
                          "or step dir (repeatable). random, uct:N and minimax are always "
                          "offered.")
_common.define_num_simulations("Search budget of the loaded agents "
                                "(default: as trained).")
flags.DEFINE_multi_string("games", [], "Tournament directory (games.jsonl, standings.md, "
                          "sgf/) or directory of SGF files to replay (repeatable); only "
                          "files under these are served.")
flags.DEFINE_integer("port", 8000, "Port to listen on.")
flags.DEFINE_string("host", "127.0.0.1", "Address to bind: 127.0.0.1 keeps the board on "
                    "this machine; 0.0.0.0 opens it to the network.")
FLAGS = flags.FLAGS


def main(argv):
  _common.start(argv)

  def run():
    if not 1 <= FLAGS.port <= 65535:
      raise ValueError(f"--port must be between 1 and 65535, got {FLAGS.port}")
    for path in FLAGS.games:
      if not os.path.isdir(path):
        raise ValueError(f"--games={path} is not a directory")
    try:
      import uvicorn

      from agents import web
    except ImportError as e:
      raise ValueError(f"the web board needs {e.name}: pip install -e '.[web]'") from None
    from agents.web import library
    if FLAGS.checkpoint:
      print("loading and compiling the agents...", flush=True)
    try:
      board = web.build(FLAGS.checkpoint, num_simulations=FLAGS.num_simulations,
                        games_dirs=FLAGS.games)
    except library.LibraryError as e:
      raise ValueError(str(e)) from None
    print(f"zerogo web board on http://{FLAGS.host}:{FLAGS.port} (Ctrl-C stops it)",
          flush=True)
    uvicorn.run(board, host=FLAGS.host, port=FLAGS.port, log_level="warning")

  _common.run_guarded(run, interrupted="stopped")


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
