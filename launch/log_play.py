r"""Log play of any agent on a one-player env as a Minari dataset (offline RL).

  python launch/log_play.py --env=minatar-breakout --episodes=500 \
    --behaviour=breakout_tracker:0.3,breakout_away:0.7 --out=runs/datasets \
    --dataset_id=zerogo/minatar-breakout/mixed-v0

--behaviour: a mixture `COMPONENT:WEIGHT,...` of random, ckpt:PATH (a
checkpoint's greedy move) and scripted players (agents/behaviour.py); the
logged action is drawn from it and its probabilities are stored per step
(Minari infos["action_probs"]). Writes OUT/<dataset_id>/ (Minari, HDF5),
readable by `minari.load_dataset` with MINARI_DATASETS_PATH=OUT, and prints
the dataset's mean episode return.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

flags.DEFINE_string("env", None, "One-player env: minatar-breakout, ..., CartPole-v1.")
flags.DEFINE_string("behaviour", None, "Behaviour policy: COMPONENT:WEIGHT,... of random, "
                    "ckpt:PATH, breakout_tracker, breakout_away.")
flags.DEFINE_integer("episodes", 100, "Episodes to log.", lower_bound=1, upper_bound=2**31 - 1)
flags.DEFINE_integer("max_steps", 1000, "Cut an episode off (truncated) after this many steps.",
                     lower_bound=1, upper_bound=2**31 - 1)
flags.DEFINE_string("out", None, "Root directory of Minari datasets (MINARI_DATASETS_PATH).")
flags.DEFINE_string("dataset_id", None, "Minari dataset id (namespace/name-vN), such as "
                    "zerogo/minatar-breakout/mixed-v0.")
flags.DEFINE_integer("seed", 0, "Seed of the episodes.", lower_bound=0, upper_bound=2**31 - 1)
FLAGS = flags.FLAGS


def main(argv):
  _common.start(argv, "env", "behaviour", "out", "dataset_id")

  def run():
    import jax
    import numpy as np

    from agents import behaviour
    from agents.ppo import make_env
    from agents.configs import PPOConfig
    from zerogo import offline_data
    env = make_env(PPOConfig(env_id=FLAGS.env))
    policy = behaviour.make(FLAGS.behaviour, env)
    offline_data.check_dataset_id(FLAGS.dataset_id)  # before logging, not after
    if os.path.exists(os.path.join(FLAGS.out, FLAGS.dataset_id)):
      raise ValueError(f"{os.path.join(FLAGS.out, FLAGS.dataset_id)} exists; choose another "
                       "--dataset_id (e.g. bump its -vN)")
    episodes = offline_data.log_episodes(env, policy, jax.random.PRNGKey(FLAGS.seed),
                                         FLAGS.episodes, max_steps=FLAGS.max_steps)
    path = offline_data.write_minari(FLAGS.out, FLAGS.dataset_id, episodes, env_id=env.id,
                                     num_actions=env.num_actions,
                                     algorithm_name=f"behaviour {FLAGS.behaviour}",
                                     description=f"behaviour {FLAGS.behaviour}, "
                                     f"seed {FLAGS.seed}")
    returns = np.array([e.episode_return for e in episodes])
    steps = sum(len(e.actions) for e in episodes)
    print(f"{path}: {len(episodes)} episodes, {steps} steps, episode return "
          f"{returns.mean():.2f} +- {returns.std(ddof=1) / np.sqrt(len(returns)) if len(returns) > 1 else 0:.2f} (mean +- s.e.)")

  _common.run_guarded(run)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
