r"""PPO on a reward model learned from rankings of clips (RLHF for games).

  python launch/rlhf.py --flagfile=launch/configs/rlhf_cartpole.flags --workdir=runs/rlhf
  python launch/rlhf.py --flagfile=launch/configs/rlhf_cartpole.flags --workdir=runs/centre \
    --rater_objective=centre
  python launch/rlhf.py --flagfile=launch/configs/rlhf_cartpole.flags --workdir=runs/me \
    --rater=human --total_labels=40 --total_steps=50000 --progress=false

--workdir is required. The agent never sees the env's reward: a rater ranks
short clips of its play (--rater: synthetic, ai, or you in the terminal,
answering e.g. 2>1), an ensemble of reward models learns from the rankings,
and PPO learns from the reward models. Writes <workdir>/flags.txt,
metrics.jsonl (episode_return = the env's true return, learned_return,
labels_used, heldout_accuracy), tensorboard/ and checkpoints/ (policy,
reward models and every label so far); with --rater=human also
labels.jsonl, every answer as soon as it is given. Run it again with the
same --workdir to resume; saved answers are not asked again.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

from agents.configs import RLHFConfig  # noqa: E402

# One-player envs only: no UCT opponent to evaluate against, so no flag for it.
_RUN = dict(run_renames={"eval_games": "eval_episodes"}, run_exclude=("eval_uct_simulations",))
_common.define_training_flags(RLHFConfig, unit="update", **_RUN, run_defaults=dict(
    checkpoint_every=100, log_every=10, eval_every=100, eval_games=32))


def main(argv):
  labels = lambda: os.path.join(os.path.abspath(flags.FLAGS.workdir), "labels.jsonl")
  _common.training_main(
      argv, RLHFConfig, "agents.rlhf",
      lambda rlhf, config: rlhf.RLHF(config, labels_path=labels()), **_RUN)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
