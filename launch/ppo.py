r"""Train PPO agents: MinAtar and CartPole, or self-play on a board game.

  python launch/ppo.py --flagfile=launch/configs/cartpole.flags --workdir=runs/cartpole
  python launch/ppo.py --flagfile=launch/configs/minatar_breakout.flags --workdir=runs/breakout
  python launch/ppo.py --flagfile=launch/configs/connect_four_ppo.flags --workdir=runs/c4_ppo

--workdir is required; --flagfile (launch/configs/*.flags) sets the recipe,
and flags after it override it. Writes <workdir>/flags.txt, metrics.jsonl
(episode_return, env_steps, losses, greedy evaluations), tensorboard/ and
checkpoints/. Run it again with the same --workdir to resume from the latest
checkpoint. --num_seeds=N trains N independent agents in one compiled
program and logs each (`.../seed_i`).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

from agents.configs import PPOConfig  # noqa: E402

_RUN = dict(run_renames={"eval_games": "eval_episodes"})
_common.define_training_flags(
    PPOConfig, unit="update", run_defaults=dict(checkpoint_every=100, log_every=10,
                                                 eval_every=100, eval_games=32), **_RUN)
flags.DEFINE_integer("updates_per_call", 1, "Updates per compiled call (more: less host "
                     "overhead, coarser logging); must divide the number of updates.")


def main(argv):
  _common.training_main(
      argv, PPOConfig, "agents.ppo",
      lambda ppo, config: ppo.PPO(config, updates_per_step=flags.FLAGS.updates_per_call),
      **_RUN)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
