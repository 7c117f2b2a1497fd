r"""Train an AlphaZero agent by self-play.

  python launch/selfplay.py --flagfile=launch/configs/tic_tac_toe.flags

Writes <workdir>/flags.txt, metrics.jsonl, tensorboard/ and checkpoints/.
Run it again with the same --workdir to resume from the latest checkpoint.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

from agents.configs import AlphaZeroConfig  # noqa: E402
from agents.search import SEARCHES  # noqa: E402
from zerogo.networks import TORSOS  # noqa: E402

_D = AlphaZeroConfig()  # flag defaults are the library's defaults

flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and flags.txt; "
                    "an existing one is resumed.", required=True)
flags.DEFINE_string("env", _D.env_id, "Game to learn: a pgx board game id such as "
                    "tic_tac_toe, connect_four, othello, go_9x9, go_19x19.")
flags.DEFINE_integer("seed", _D.seed, "Seed for parameters, self-play and sampling.")
flags.DEFINE_integer("num_iterations", _D.num_iterations,
                     "Iterations (self-play unroll + SGD steps) to run in total.")
flags.DEFINE_integer("selfplay_batch_size", _D.selfplay_batch_size,
                     "Games played in parallel over all devices (multiple of the device count).")
flags.DEFINE_integer("unroll_length", _D.unroll_length,
                     "Moves played in every game slot per iteration; games carry over.")
flags.DEFINE_integer("num_simulations", _D.num_simulations, "MCTS simulations per move.")
flags.DEFINE_enum("search", _D.search, list(SEARCHES),
                  "gumbel: Gumbel MuZero policy; puct: MuZero PUCT with Dirichlet noise.")
flags.DEFINE_integer("max_num_considered_actions", _D.max_num_considered_actions,
                     "Gumbel search: actions sampled at the root.")
flags.DEFINE_float("gumbel_scale", _D.gumbel_scale,
                   "Gumbel search: scale of the Gumbel noise on the played move in self-play "
                   "(exploration; the policy target does not depend on it).")
flags.DEFINE_integer("sample_moves", _D.sample_moves,
                     "Moves at the start of each self-play game that sample with "
                     "Gumbel (or Dirichlet) noise; later moves play the search's best "
                     "action, so game results reflect strong play. 0: every move samples.")
flags.DEFINE_float("dirichlet_alpha", _D.dirichlet_alpha, "PUCT root noise concentration.")
flags.DEFINE_float("dirichlet_fraction", _D.dirichlet_fraction, "PUCT root noise weight.")
flags.DEFINE_integer("num_channels", _D.num_channels, "Width of the residual tower.")
flags.DEFINE_integer("num_blocks", _D.num_blocks, "Residual blocks in the tower (layers of the MLP).")
flags.DEFINE_enum("torso", _D.torso, list(TORSOS),
                  "conv: AlphaZero residual conv tower; mlp: flattened board through "
                  "dense layers of width --num_channels (much cheaper on small boards); "
                  "patch_mlp: one 4x4 conv of --num_channels/4 filters, then that MLP.")
flags.DEFINE_enum("bf16", "auto", ["auto", "true", "false"],
                  "bfloat16 activations; auto = on for GPU/TPU, off on CPU.")
flags.DEFINE_integer("replay_rows", _D.replay_rows,
                     "Positions kept per game slot (replay = rows x selfplay_batch_size).")
flags.DEFINE_integer("train_batch_size", _D.train_batch_size,
                     "Positions per SGD step (a multiple of --selfplay_batch_size).")
flags.DEFINE_integer("sgd_steps_per_iteration", _D.sgd_steps_per_iteration,
                     "SGD steps after each self-play unroll.")
flags.DEFINE_float("learning_rate", _D.learning_rate, "Peak AdamW learning rate (cosine decay).")
flags.DEFINE_float("weight_decay", _D.weight_decay, "AdamW weight decay.")
flags.DEFINE_integer("warmup_steps", _D.warmup_steps, "Linear learning-rate warm-up, in SGD steps.")
flags.DEFINE_bool("augment", _D.augment, "Train on a random board symmetry of each sampled "
                  "position (8 for square boards, 2 for connect four, none otherwise).")
flags.DEFINE_float("search_value_weight", _D.search_value_weight,
                   "Value target = this weight x the root search value + (1 - it) x "
                   "the game result (0: game result only, as in AlphaZero).")
flags.DEFINE_float("value_loss_weight", _D.value_loss_weight, "Weight of the value loss.")
flags.DEFINE_integer("checkpoint_every", 10, "Save every this many iterations (and at the end).")
flags.DEFINE_integer("max_checkpoints", 3, "Checkpoints kept in <workdir>/checkpoints.")
flags.DEFINE_integer("eval_every", 10, "Evaluate every this many iterations (0: never).")
flags.DEFINE_integer("eval_games", 64, "Games per opponent in each evaluation.")
flags.DEFINE_integer("eval_uct_simulations", 100,
                     "Simulations of the random-rollout UCT opponent (0: random opponent only).")
flags.DEFINE_bool("progress", True, "Show a progress bar with ETA.")
flags.DEFINE_float("time_budget_s", None, "Save and stop at the first iteration boundary after "
                   "this many seconds of training (compilation included, evaluation not; "
                   "summed over restarts): fixed-wall-clock comparisons, e.g. launch/ablate.py.")
flags.DEFINE_integer("stop_at", None, "Save and stop after this iteration (for time-sliced "
                     "jobs); run again to continue to --num_iterations.")

_common.define_distributed_flags()

FLAGS = flags.FLAGS


def _config():
  bf16 = _common.resolve_bf16(FLAGS.bf16)
  return AlphaZeroConfig(
      env_id=FLAGS.env, seed=FLAGS.seed, num_iterations=FLAGS.num_iterations,
      selfplay_batch_size=FLAGS.selfplay_batch_size, unroll_length=FLAGS.unroll_length,
      num_simulations=FLAGS.num_simulations, search=FLAGS.search,
      max_num_considered_actions=FLAGS.max_num_considered_actions,
      gumbel_scale=FLAGS.gumbel_scale, dirichlet_alpha=FLAGS.dirichlet_alpha,
      dirichlet_fraction=FLAGS.dirichlet_fraction, sample_moves=FLAGS.sample_moves,
      num_channels=FLAGS.num_channels, num_blocks=FLAGS.num_blocks, torso=FLAGS.torso,
      bf16=bf16,
      replay_rows=FLAGS.replay_rows, train_batch_size=FLAGS.train_batch_size,
      sgd_steps_per_iteration=FLAGS.sgd_steps_per_iteration,
      learning_rate=FLAGS.learning_rate, weight_decay=FLAGS.weight_decay,
      warmup_steps=FLAGS.warmup_steps, value_loss_weight=FLAGS.value_loss_weight,
      search_value_weight=FLAGS.search_value_weight, augment=FLAGS.augment)


def main(argv):
  if len(argv) > 1:
    _common.die(f"unexpected arguments {argv[1:]}; flags are written --name=value")
  _common.quiet_logs()
  import jax
  from zerogo.checkpoint import CheckpointError
  from zerogo.distributed import DistributedError

  def train():
    _common.init_distributed()  # first: before anything touches a device
    from agents import alphazero, alphazero_loop  # pgx's import touches the device
    _common.require_at_least(1, "checkpoint_every", "eval_games")
    _common.require_at_least(0, "eval_every", "eval_uct_simulations")
    _common.require_at_least(1, "time_budget_s")
    config = _config()
    alphazero.validate(config, jax.device_count())  # before anything compiles
    flags_text = _common.write_flags(FLAGS.workdir, __name__)
    options = alphazero_loop.RunOptions(
        workdir=FLAGS.workdir, checkpoint_every=FLAGS.checkpoint_every,
        max_checkpoints=FLAGS.max_checkpoints, eval_every=FLAGS.eval_every,
        eval_games=FLAGS.eval_games, eval_uct_simulations=FLAGS.eval_uct_simulations,
        progress=FLAGS.progress, stop_at=FLAGS.stop_at,
        time_budget_s=FLAGS.time_budget_s, flags_text=flags_text)
    alphazero_loop.run(config, options)
    if jax.process_index() == 0:
      print(f"done: {FLAGS.workdir} (metrics.jsonl, checkpoints/)")

  _common.run_guarded(train, (ValueError, CheckpointError, DistributedError))


if __name__ == "__main__":
  app.run(main)
