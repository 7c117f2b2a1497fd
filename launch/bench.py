r"""Throughput benchmarks; each prints one JSON line.

  python launch/bench.py selfplay --env=go_9x9 --selfplay_batch_size=256 \
      --num_simulations=32 --num_channels=32 --num_blocks=2

selfplay: MCTS self-play moves (search + env step + auto-reset, all games
batched, one compiled scan) against the network alone on the same batch.
  positions_per_s      self-play moves made per second, all games together
  simulations_per_s    positions_per_s * num_simulations
  evaluations_per_s    network-only forward passes per second (batch positions)
  network_limit_ratio  simulations_per_s / evaluations_per_s: 1.0 would mean
                       search costs nothing beyond its network calls

  python launch/bench.py ppo --env=minatar-breakout --num_envs=64 --torso=mlp

ppo: full PPO training (rollout + GAE + epochs of minibatch updates, one
compiled update per call) against raw stepping of the same envs.
  env_steps_per_s      environment steps trained on per second
  raw_env_steps_per_s  `vmap(env.step)` with random actions, auto-reset, scanned
                       over the same rollout length: the env's own speed
  env_limit_ratio      env_steps_per_s / raw_env_steps_per_s: 1.0 would mean
                       learning costs nothing beyond stepping the envs
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

flags.DEFINE_string("env", "go_9x9", "Game to benchmark (selfplay: a board game; ppo: "
                    "minatar-breakout and friends, CartPole-v1 or a two-player board game).")
flags.DEFINE_integer("selfplay_batch_size", 256, "Games played in parallel.")
flags.DEFINE_integer("num_simulations", 32, "MCTS simulations per move.")
flags.DEFINE_enum("search", "gumbel", ["gumbel", "puct"], "Search policy.")
flags.DEFINE_integer("num_channels", 32, "Residual tower width.")
flags.DEFINE_integer("num_blocks", 2, "Residual blocks.")
flags.DEFINE_enum("bf16", "auto", ["auto", "true", "false"], "bfloat16 activations.")
flags.DEFINE_integer("num_envs", 64, "ppo: parallel environments.")
flags.DEFINE_integer("num_steps", 128, "ppo: rollout length per update.")
flags.DEFINE_integer("num_epochs", 4, "ppo: passes over each rollout.")
flags.DEFINE_integer("num_minibatches", 8, "ppo: minibatches per epoch.")
flags.DEFINE_enum("torso", "mlp", ["auto", "mlp", "cnn"],
                  "ppo: mlp (PureJaxRL's 64x64 actor and critic) or cnn (MinAtar conv).")
flags.DEFINE_integer("hidden", 64, "ppo: width of the dense layers.")
flags.DEFINE_integer("updates", 4, "ppo: updates per timed call.")
flags.DEFINE_integer("moves", 8, "Self-play moves per timed call.")
flags.DEFINE_integer("repeats", 3, "Timed calls after the warm-up; the best is reported.")
FLAGS = flags.FLAGS

SUBCOMMANDS = ("selfplay", "ppo")


def _best_time(fn, *args):
  import jax
  jax.block_until_ready(fn(*args))  # compile + warm-up
  best = float("inf")
  for _ in range(FLAGS.repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    best = min(best, time.perf_counter() - start)
  return best


def machine() -> dict:
  import jax
  return {"machine": platform.node(), "cpu_count": os.cpu_count(),
          "device_kind": jax.devices()[0].device_kind, "backend": jax.default_backend(),
          "num_devices": jax.device_count(), "jax_version": jax.__version__}


def bench_selfplay() -> dict:
  import jax
  import envs
  from agents import search as search_lib
  from zerogo import networks

  envs.check_env_name(FLAGS.env)
  env = envs.make(FLAGS.env)
  if not env.is_perfect_information_two_player:
    raise ValueError(f"selfplay needs a deterministic two-player game; {FLAGS.env!r} is not one")
  bf16 = _common.resolve_bf16(FLAGS.bf16)
  batch = FLAGS.selfplay_batch_size
  network = networks.make_network(env.num_actions, num_channels=FLAGS.num_channels,
                                  num_blocks=FLAGS.num_blocks, bf16=bf16)
  params = networks.init_params(network, env.observation_shape, jax.random.PRNGKey(0))
  search = search_lib.make_search(env, network, search=FLAGS.search,
                                  num_simulations=FLAGS.num_simulations)
  evaluate = jax.jit(search_lib.make_evaluate(env, network))
  game = envs.AutoReset(env)

  @jax.jit
  def play(params, states, key):
    def move(states, k):
      keys = jax.random.split(k, (batch, 2))
      out = search(params, keys[:, 0], states)
      states, _ = jax.vmap(game.step)(states, out.action, keys[:, 1])
      return states, out.action
    return jax.lax.scan(move, states, jax.random.split(key, FLAGS.moves))

  states = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(1), batch))
  # Measure from mid-game positions, not only the empty board.
  states, _ = play(params, states, jax.random.PRNGKey(2))
  selfplay_s = _best_time(play, params, states, jax.random.PRNGKey(3))
  eval_s = _best_time(evaluate, params, states)
  positions_per_s = batch * FLAGS.moves / selfplay_s
  simulations_per_s = positions_per_s * FLAGS.num_simulations
  evaluations_per_s = batch / eval_s
  return {"bench": "selfplay", "env": FLAGS.env, "selfplay_batch_size": batch,
          "num_simulations": FLAGS.num_simulations, "search": FLAGS.search,
          "num_channels": FLAGS.num_channels, "num_blocks": FLAGS.num_blocks, "bf16": bf16,
          "positions_per_s": round(positions_per_s, 1),
          "simulations_per_s": round(simulations_per_s, 1),
          "evaluations_per_s": round(evaluations_per_s, 1),
          "network_limit_ratio": round(simulations_per_s / evaluations_per_s, 4),
          **machine()}


def bench_ppo() -> dict:
  import jax
  import jax.numpy as jnp
  import envs
  from agents import ppo

  envs.check_env_name(FLAGS.env)
  config = ppo.PPOConfig(env_id=FLAGS.env, num_envs=FLAGS.num_envs, num_steps=FLAGS.num_steps,
                         num_epochs=FLAGS.num_epochs, num_minibatches=FLAGS.num_minibatches,
                         torso=FLAGS.torso, hidden=FLAGS.hidden,
                         total_steps=FLAGS.num_envs * FLAGS.num_steps * 1000)
  trainer = ppo.PPO(config, updates_per_step=FLAGS.updates)
  state = trainer.init()
  state, _ = trainer.step(state)  # compile + warm-up
  jax.block_until_ready(state)
  best = float("inf")
  for _ in range(FLAGS.repeats):
    start = time.perf_counter()
    state, _ = trainer.step(state)
    jax.block_until_ready(state)
    best = min(best, time.perf_counter() - start)
  train_steps_per_s = FLAGS.updates * config.steps_per_update / best

  env, n = trainer.env, config.num_envs
  game = envs.AutoReset(env)

  @jax.jit
  def raw(states, key):
    def step(states, k):
      action_key, step_key = jax.random.split(k)
      logits = jnp.where(states.legal_action_mask, 0.0, -jnp.inf)
      actions = jax.random.categorical(action_key, logits).astype(jnp.int32)
      return jax.vmap(game.step)(states, actions, jax.random.split(step_key, n))[0], None
    return jax.lax.scan(step, states, jax.random.split(key, config.num_steps))[0]

  states = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(0), n))
  raw_s = _best_time(raw, states, jax.random.PRNGKey(1))
  raw_steps_per_s = n * config.num_steps / raw_s
  return {"bench": "ppo", "env": FLAGS.env, "num_envs": n, "num_steps": FLAGS.num_steps,
          "num_epochs": FLAGS.num_epochs, "num_minibatches": FLAGS.num_minibatches,
          "torso": trainer.network.torso, "hidden": FLAGS.hidden,
          "env_steps_per_s": round(train_steps_per_s, 1),
          "raw_env_steps_per_s": round(raw_steps_per_s, 1),
          "env_limit_ratio": round(train_steps_per_s / raw_steps_per_s, 4), **machine()}


def main(argv):
  if len(argv) != 2 or argv[1] not in SUBCOMMANDS:
    _common.die(f"usage: bench.py {{{','.join(SUBCOMMANDS)}}} [--flags]; got {argv[1:]}")
  _common.quiet_logs()
  import envs

  def run():
    print(json.dumps({"selfplay": bench_selfplay, "ppo": bench_ppo}[argv[1]]()), flush=True)

  _common.run_guarded(run, (ValueError, envs.UnknownEnvError))


if __name__ == "__main__":
  app.run(main)
