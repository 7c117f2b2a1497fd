r"""Train a MuZero agent: search with a learned model, on one-player games
(CartPole, MinAtar) and two-player board games.

  python launch/muzero.py --flagfile=launch/configs/muzero_cartpole.flags --workdir=runs/mz_cp
  python launch/muzero.py --flagfile=FLAGFILE --workdir=DIR [--any_flag=value ...]

--workdir is required; --flagfile (launch/configs/muzero_*.flags) sets the
recipe, and flags after it override it. Writes <workdir>/flags.txt,
metrics.jsonl (episode_return, env_steps, losses, evaluations),
tensorboard/ and checkpoints/. Run it again with the same --workdir to
resume from the latest checkpoint.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # noqa: E402

from launch import _common  # noqa: E402

from agents.configs import MuZeroConfig  # noqa: E402

_RUN = dict(run_renames={"eval_games": "eval_episodes"})
_common.define_training_flags(
    MuZeroConfig, unit="iteration", run_defaults=dict(checkpoint_every=50, log_every=5,
                                                       eval_every=50, eval_games=32), **_RUN)


def main(argv):
  _common.training_main(argv, MuZeroConfig, "agents.muzero",
                        lambda muzero, config: muzero.MuZero(config), **_RUN)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
