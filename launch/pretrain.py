r"""Supervised warm start of the AlphaZero network from game records.

  python launch/pretrain.py --env=go_7x7 --records=runs/gnugo7 --workdir=runs/pre7
  python launch/pretrain.py --env=connect_four --records=a/games.jsonl,b/games.jsonl \
    --workdir=DIR [--winner_only] [--players='level 10'] [--any_flag=value ...]

--records: SGF files, tournament games.jsonl files, or directories holding
them (launch/tournament.py writes both). Every game is replayed through the
env; games that do not replay are skipped, counted, and the first reason is
printed. Trains the policy head on the played moves and the value head on
the results, holds out --heldout_fraction of the games, and writes
<workdir>/flags.txt, metrics.jsonl (accuracy, losses; heldout/accuracy,
heldout/policy_loss, heldout/value_loss and win rates at each evaluation),
tensorboard/ and checkpoints/. Then:

  python launch/selfplay.py --env=go_7x7 --init_from=runs/pre7 --workdir=runs/az7 \
    --num_channels=... --num_blocks=... --torso=...   (the same network flags)
  python launch/tournament.py --env=go_7x7 --agents='ckpt:runs/pre7,gtp:gnugo ...'
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # noqa: E402

from launch import _common  # noqa: E402

from agents.configs import PretrainConfig  # noqa: E402

_common.define_training_flags(
    PretrainConfig, unit="step", run_defaults=dict(checkpoint_every=500, log_every=20,
                                                    eval_every=200, eval_games=32,
                                                    eval_uct_simulations=0))


def main(argv):
  def make(pretrain, config):
    trainer = pretrain.Pretrain(config)
    print(f"records: {trainer.report.summary()}; {len(trainer.train_data.action)} training "
          f"and {len(trainer.heldout_data.action)} held-out positions", file=sys.stderr)
    return trainer

  _common.training_main(argv, PretrainConfig, "agents.pretrain", make)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
