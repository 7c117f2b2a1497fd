r"""Train an AlphaZero agent by self-play.

  python launch/selfplay.py --flagfile=launch/configs/tic_tac_toe.flags --workdir=runs/ttt
  python launch/selfplay.py --flagfile=FLAGFILE --workdir=DIR [--any_flag=value ...]

--workdir is required; --flagfile (launch/configs/*.flags) sets the recipe,
and flags after it override it.

Writes <workdir>/flags.txt, metrics.jsonl, tensorboard/ and checkpoints/.
Run it again with the same --workdir to resume from the latest checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

from agents.configs import AlphaZeroConfig  # noqa: E402
from zerogo.loop import RunOptions  # noqa: E402

_common.define_config_flags(AlphaZeroConfig)
_common.define_config_flags(RunOptions, exclude=("log_every",), unit="iterations")
_common.define_summary_flag()
_common.define_distributed_flags()

FLAGS = flags.FLAGS


def main(argv):
  _common.require("workdir")
  if len(argv) > 1:
    _common.die(f"unexpected arguments {argv[1:]}; flags are written --name=value")
  _common.quiet_logs()
  import jax
  from zerogo import config as config_lib
  from zerogo.checkpoint import CheckpointError
  from zerogo.distributed import DistributedError

  def train():
    _common.init_distributed()  # first: before anything touches a device
    from agents import alphazero  # pgx's import touches the device
    from zerogo import loop
    config = _common.config_from_flags(AlphaZeroConfig, resolve_auto=_common.resolve_bf16)
    alphazero.validate(config, jax.device_count())  # before anything compiles
    options = _common.config_from_flags(RunOptions, exclude=("log_every",),
                                        workdir=FLAGS.workdir)
    config_lib.check(options)
    options = dataclasses.replace(options, flags_text=_common.flags_text(__name__))
    loop.run(alphazero.AlphaZero(config), options)
    if FLAGS.summary:
      _common.print_summary(FLAGS.workdir)
    elif jax.process_index() == 0:
      print(f"done: {FLAGS.workdir} (metrics.jsonl, checkpoints/)")

  _common.run_guarded(train, (ValueError, CheckpointError, DistributedError),
                      interrupted=_common.RESUMES)


if __name__ == "__main__":
  app.run(main)
