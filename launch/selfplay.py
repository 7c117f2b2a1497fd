r"""Train an AlphaZero agent by self-play.

  python launch/selfplay.py --flagfile=launch/configs/tic_tac_toe.flags --workdir=runs/ttt
  python launch/selfplay.py --flagfile=FLAGFILE --workdir=DIR [--any_flag=value ...]

--workdir is required; --flagfile (launch/configs/*.flags) sets the recipe,
and flags after it override it. Writes <workdir>/flags.txt, metrics.jsonl,
tensorboard/ and checkpoints/. Run it again with the same --workdir to
resume from the latest checkpoint.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # noqa: E402

from launch import _common  # noqa: E402

from agents.configs import AlphaZeroConfig  # noqa: E402

_RUN = dict(run_exclude=("log_every",))  # every iteration is logged
_common.define_training_flags(AlphaZeroConfig, unit="iteration", **_RUN)


def main(argv):
  _common.training_main(argv, AlphaZeroConfig, "agents.alphazero",
                        lambda alphazero, config: alphazero.AlphaZero(config), **_RUN)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
