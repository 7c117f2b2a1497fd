r"""Offline RL from a logged dataset: behaviour cloning or discrete CQL.

  python launch/offline.py --env=minatar-breakout --algorithm=cql \
    --dataset=runs/datasets/zerogo/minatar-breakout/mixed-v0 --num_seeds=3 --workdir=DIR

--dataset: a Minari dataset directory (launch/log_play.py writes one). No
env steps are taken for learning; evaluations play greedy episodes in the
real env (eval/episode_return, per seed as .../seed_i). Writes
<workdir>/flags.txt, metrics.jsonl, tensorboard/ and checkpoints/;
`ppo.py --init_from=<workdir>` fine-tunes the policy online.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # noqa: E402

from launch import _common  # noqa: E402

from agents.configs import OfflineConfig  # noqa: E402

_RUN = dict(run_renames={"eval_games": "eval_episodes"})
_common.define_training_flags(
    OfflineConfig, unit="step", run_defaults=dict(checkpoint_every=5000, log_every=500,
                                                   eval_every=5000, eval_games=32,
                                                   eval_uct_simulations=0), **_RUN)


def main(argv):
  _common.training_main(argv, OfflineConfig, "agents.offline",
                        lambda offline, config: offline.Offline(config), **_RUN)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
