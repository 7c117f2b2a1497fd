r"""Train PPO agents: MinAtar and CartPole, or self-play on a board game.

  python launch/ppo.py --flagfile=launch/configs/cartpole.flags --workdir=runs/cartpole
  python launch/ppo.py --flagfile=launch/configs/minatar_breakout.flags --workdir=runs/breakout
  python launch/ppo.py --flagfile=launch/configs/connect_four_ppo.flags --workdir=runs/c4_ppo

--workdir is required; --flagfile (launch/configs/*.flags) sets the recipe,
and flags after it override it.

Writes <workdir>/flags.txt, metrics.jsonl (episode_return, env_steps, losses,
greedy evaluations), tensorboard/ and checkpoints/. Run it again with the same
--workdir to resume from the latest checkpoint. --num_seeds=N trains N
independent agents in one compiled program and logs each (`.../seed_i`).
"""

from __future__ import annotations

import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

from agents.configs import PPOConfig  # noqa: E402
from zerogo.loop import RunOptions  # noqa: E402

_RENAMES = {"eval_games": "eval_episodes"}
_common.define_config_flags(PPOConfig)
_common.define_config_flags(RunOptions, renames=_RENAMES, unit="updates",
                            defaults=dict(checkpoint_every=100, log_every=10, eval_every=100,
                                          eval_games=32))
flags.DEFINE_integer("updates_per_call", 1, "Updates per compiled call (more: less host "
                     "overhead, coarser logging); must divide the number of updates.")
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
    from agents import ppo  # pgx's import touches the device
    from zerogo import loop
    config = _common.config_from_flags(PPOConfig)
    ppo.validate(config, jax.device_count())  # before anything compiles
    options = _common.config_from_flags(RunOptions, renames=_RENAMES, workdir=FLAGS.workdir)
    config_lib.check(options)
    trainer = ppo.PPO(config, updates_per_step=FLAGS.updates_per_call)
    options = dataclasses.replace(options, flags_text=_common.flags_text(__name__))
    loop.run(trainer, options)
    if FLAGS.summary:
      _common.print_summary(FLAGS.workdir)
    elif jax.process_index() == 0:
      print(f"done: {FLAGS.workdir} (metrics.jsonl, checkpoints/)")

  _common.run_guarded(train, (ValueError, CheckpointError, DistributedError),
                      interrupted=_common.RESUMES)


if __name__ == "__main__":
  app.run(main)
