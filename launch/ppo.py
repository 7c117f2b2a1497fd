r"""Train PPO agents: MinAtar and CartPole, or self-play on a board game.

  python launch/ppo.py --flagfile=launch/configs/cartpole.flags
  python launch/ppo.py --flagfile=launch/configs/minatar_breakout.flags
  python launch/ppo.py --flagfile=launch/configs/connect_four_ppo.flags

Writes <workdir>/flags.txt, metrics.jsonl (episode_return, env_steps, losses,
greedy evaluations), tensorboard/ and checkpoints/. Run it again with the same
--workdir to resume from the latest checkpoint. --num_seeds=N trains N
independent agents in one compiled program and logs each (`.../seed_i`).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

from agents.configs import ACTIVATIONS, MINIBATCH_SAMPLING, PPOConfig  # noqa: E402
from zerogo.networks import PPO_TORSOS  # noqa: E402

_D = PPOConfig()  # flag defaults are the library's defaults

flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and flags.txt; "
                    "an existing one is resumed.", required=True)
flags.DEFINE_string("env", _D.env_id, "minatar-breakout, minatar-asterix, minatar-freeway, "
                    "minatar-space_invaders, minatar-seaquest, CartPole-v1, or a two-player "
                    "board game (connect_four, tic_tac_toe, ...) for self-play.")
flags.DEFINE_integer("seed", _D.seed, "Base seed; seed i of --num_seeds folds in i.")
flags.DEFINE_integer("num_seeds", _D.num_seeds,
                     "Independent agents trained side by side in one compiled program.")
flags.DEFINE_integer("total_steps", _D.total_steps, "Environment steps per seed.")
flags.DEFINE_integer("num_envs", _D.num_envs,
                     "Parallel environments per seed, over all devices (multiple of the "
                     "device count).")
flags.DEFINE_integer("num_steps", _D.num_steps, "Rollout length per update.")
flags.DEFINE_integer("num_epochs", _D.num_epochs, "Passes over each rollout.")
flags.DEFINE_integer("num_minibatches", _D.num_minibatches, "Minibatches per epoch.")
flags.DEFINE_string("minibatch_sampling", _D.minibatch_sampling,
                    f"One of {', '.join(MINIBATCH_SAMPLING)}. steps: a minibatch is a random "
                    "set of whole time steps (all envs at the same steps); transitions: every "
                    "env contributes its own random time steps.")
flags.DEFINE_float("learning_rate", _D.learning_rate, "Adam learning rate.")
flags.DEFINE_bool("anneal_lr", _D.anneal_lr, "Decay the learning rate linearly to 0.")
flags.DEFINE_float("gamma", _D.gamma, "Discount.")
flags.DEFINE_float("gae_lambda", _D.gae_lambda, "GAE lambda.")
flags.DEFINE_float("clip_eps", _D.clip_eps, "PPO clip range (policy ratio and value).")
flags.DEFINE_float("ent_coef", _D.ent_coef, "Entropy bonus weight.")
flags.DEFINE_bool("clip_value", _D.clip_value,
                  "Clip the value update to +-clip_eps around the rollout's value (PPO2 style); "
                  "--noclip_value: plain squared error.")
flags.DEFINE_float("vf_coef", _D.vf_coef, "Value loss weight.")
flags.DEFINE_float("max_grad_norm", _D.max_grad_norm, "Global gradient-norm clip.")
flags.DEFINE_enum("torso", _D.torso, list(PPO_TORSOS),
                  "auto: cnn for grid observations (MinAtar, boards), mlp for vectors; "
                  "column: a horizontal convolution spanning the whole screen, so every "
                  "column sees the board relative to itself, then the MLP (grids only).")
flags.DEFINE_integer("hidden", _D.hidden, "Width of the dense layers.")
flags.DEFINE_integer("num_layers", _D.num_layers, "Dense layers of the MLP actor and critic.")
flags.DEFINE_enum("activation", _D.activation, list(ACTIVATIONS), "Hidden activation.")
flags.DEFINE_bool("mirror_symmetry", _D.mirror_symmetry,
                  "Make the actor-critic equivariant to the game's left-right mirror (it also "
                  "sees every observation mirrored, with left and right swapped): "
                  "minatar-breakout and CartPole-v1.")
flags.DEFINE_bool("shared_torso", _D.shared_torso,
                  "--torso=mlp or column: one stack of dense layers feeds both the policy "
                  "and the value head (the value's gradient shapes the policy's features; "
                  "half the dense layers) instead of separate actor and critic MLPs.")
flags.DEFINE_integer("column_features", _D.column_features,
                     "--torso=column: features computed for each screen column (each sees "
                     "the whole screen relative to its column).")
flags.DEFINE_integer("column_heads", _D.column_heads,
                     "--torso=column: attention pools over the columns (0: none); each "
                     "head weights the columns by a learned score of their features and "
                     "passes the weighted mean on, e.g. the screen relative to the paddle.")
flags.DEFINE_float("sticky_action_prob", None, "MinAtar: probability of repeating the last "
                   "action instead of the chosen one (default 0.1 for MinAtar, 0 for CartPole).")
flags.DEFINE_integer("pool_size", _D.pool_size, "Self-play: past policies kept as opponents.")
flags.DEFINE_integer("snapshot_every", _D.snapshot_every,
                     "Self-play: updates between snapshots added to the pool.")
flags.DEFINE_float("self_play_fraction", _D.self_play_fraction,
                   "Self-play: share of games against the current policy (the rest face "
                   "a pool snapshot).")
flags.DEFINE_float("random_opponent_fraction", _D.random_opponent_fraction,
                   "Self-play: share of games against a uniformly random player.")
flags.DEFINE_integer("updates_per_call", 1, "Updates per compiled call (more: less host "
                     "overhead, coarser logging); must divide the number of updates.")
flags.DEFINE_integer("log_every", 10, "Write metrics every this many updates.")
flags.DEFINE_integer("checkpoint_every", 100, "Save every this many updates (and at the end).")
flags.DEFINE_integer("max_checkpoints", 3, "Checkpoints kept in <workdir>/checkpoints.")
flags.DEFINE_integer("eval_every", 100, "Greedy evaluation every this many updates (0: never).")
flags.DEFINE_integer("eval_episodes", 32, "Episodes (or games per opponent) per evaluation.")
flags.DEFINE_integer("eval_uct_simulations", 100, "Board games: simulations of the UCT "
                     "opponent in evaluations (0: random opponent only).")
flags.DEFINE_bool("progress", True, "Show a progress bar with ETA.")
flags.DEFINE_float("time_budget_s", None, "Save and stop at the first update boundary after "
                   "this many seconds of training (compilation included, evaluation not; "
                   "summed over restarts): fixed-wall-clock comparisons, e.g. launch/ablate.py.")
flags.DEFINE_integer("stop_at", None, "Save and stop after this update; run again to go on.")

_common.define_distributed_flags()

FLAGS = flags.FLAGS


def _config() -> PPOConfig:
  return PPOConfig(
      env_id=FLAGS.env, seed=FLAGS.seed, num_seeds=FLAGS.num_seeds,
      total_steps=FLAGS.total_steps, num_envs=FLAGS.num_envs, num_steps=FLAGS.num_steps,
      num_epochs=FLAGS.num_epochs, num_minibatches=FLAGS.num_minibatches,
      minibatch_sampling=FLAGS.minibatch_sampling, learning_rate=FLAGS.learning_rate,
      anneal_lr=FLAGS.anneal_lr, gamma=FLAGS.gamma,
      gae_lambda=FLAGS.gae_lambda, clip_eps=FLAGS.clip_eps, ent_coef=FLAGS.ent_coef,
      clip_value=FLAGS.clip_value,
      vf_coef=FLAGS.vf_coef, max_grad_norm=FLAGS.max_grad_norm, torso=FLAGS.torso,
      hidden=FLAGS.hidden, num_layers=FLAGS.num_layers, activation=FLAGS.activation,
      mirror_symmetry=FLAGS.mirror_symmetry, shared_torso=FLAGS.shared_torso,
      column_features=FLAGS.column_features, column_heads=FLAGS.column_heads,
      sticky_action_prob=FLAGS.sticky_action_prob, pool_size=FLAGS.pool_size,
      snapshot_every=FLAGS.snapshot_every, self_play_fraction=FLAGS.self_play_fraction,
      random_opponent_fraction=FLAGS.random_opponent_fraction)


def main(argv):
  if len(argv) > 1:
    _common.die(f"unexpected arguments {argv[1:]}; flags are written --name=value")
  _common.quiet_logs()
  import jax
  from zerogo.checkpoint import CheckpointError
  from zerogo.distributed import DistributedError

  def train():
    _common.init_distributed()  # first: before anything touches a device
    from agents import ppo, ppo_loop  # pgx's import touches the device
    _common.require_at_least(1, "updates_per_call", "log_every", "checkpoint_every", "eval_episodes")
    _common.require_at_least(0, "eval_every", "eval_uct_simulations")
    _common.require_at_least(1, "time_budget_s")
    config = _config()
    ppo.validate(config, jax.device_count())  # before anything compiles
    flags_text = _common.write_flags(FLAGS.workdir, __name__)
    options = ppo_loop.RunOptions(
        workdir=FLAGS.workdir, updates_per_call=FLAGS.updates_per_call,
        log_every=FLAGS.log_every, checkpoint_every=FLAGS.checkpoint_every,
        max_checkpoints=FLAGS.max_checkpoints, eval_every=FLAGS.eval_every,
        eval_episodes=FLAGS.eval_episodes, eval_uct_simulations=FLAGS.eval_uct_simulations,
        progress=FLAGS.progress, stop_at=FLAGS.stop_at,
        time_budget_s=FLAGS.time_budget_s, flags_text=flags_text)
    ppo_loop.run(config, options)
    if jax.process_index() == 0:
      print(f"done: {FLAGS.workdir} (metrics.jsonl, checkpoints/)")

  _common.run_guarded(train, (ValueError, CheckpointError, DistributedError))


if __name__ == "__main__":
  app.run(main)
