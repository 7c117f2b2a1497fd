r"""Throughput benchmarks; each measurement is one JSON line with the machine,
device kind and JAX version.

  python launch/bench.py envs --num_envs=1024 --num_steps=32 [--envs=go_9x9,chess]

envs: for every registered env, random legal moves through zerogo's env layer
(env + auto-reset, what the agents step; and the same with episode statistics)
against the library's own batched step (`vmap` of pgx's step with pgx's
auto_reset; gymnax's step, which auto-resets), all timed in turns.
  steps_per_s             zerogo env steps per second, all envs together
  with_stats_steps_per_s  the same with RecordEpisodeStatistics on top
  raw_steps_per_s         the library's own steps per second, same batch, same run
  wrapper_overhead        time(zerogo) / time(library) - 1: the median over
                          rounds of the two timed back to back (steps/s: best)
  with_stats_overhead     the same for zerogo + statistics

  python launch/bench.py selfplay --env=go_9x9 --selfplay_batch_size=256 \
      --num_simulations=32 --num_channels=32 --num_blocks=2

selfplay: MCTS self-play moves (search + env step + auto-reset, all games
batched, one compiled scan) against the network alone on the same batch.
  positions_per_s      self-play moves made per second, all games together
  simulations_per_s    positions_per_s * num_simulations
  evaluations_per_s    network-only forward passes per second (batch positions)
  network_limit_ratio  simulations_per_s / evaluations_per_s: 1.0 would mean
                       search costs nothing beyond its network calls

  python launch/bench.py learner --env=go_9x9 --train_batch_size=1024 \
      --num_channels=64 --num_blocks=6

learner: AlphaZero SGD steps (forward, backward, gradient psum over devices,
AdamW) on a random batch, against forward-only evaluation of the same batch.
  sgd_steps_per_s        SGD steps per second (global batch)
  samples_per_s          sgd_steps_per_s * train_batch_size
  forward_samples_per_s  network-only forward passes per second, same batch
  train_to_forward_ratio samples_per_s / forward_samples_per_s (about 1/3 is
                         the usual cost of a backward pass)

  python launch/bench.py iteration --env=connect_four --selfplay_batch_size=256 \
      --moves=8 --num_simulations=16 --train_batch_size=1024 --sgd_steps=8

iteration: whole AlphaZero training iterations (self-play unroll of --moves
moves in every game + --sgd_steps SGD steps), data-parallel over every device
of every process (the multi-process flags work here as in the trainers).
  iterations_per_s     training iterations per second
  positions_per_s      self-play positions generated per second

  python launch/bench.py muzero --env=minatar-breakout --num_envs=64 --moves=8 \
      --num_simulations=16 --hidden=64 --train_batch_size=256 --sgd_steps=4

muzero: whole MuZero iterations (acting with search in the learned model for
--moves steps in every env + --sgd_steps SGD steps) and the search alone.
  env_steps_per_s      environment steps acted and trained on per second
  simulations_per_s    searches per second (batch of --num_envs roots) x sims
  evaluations_per_s    one model step (dynamics + prediction) per second, batch
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
import math
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402
from zerogo.torsos import PPO_TORSOS  # noqa: E402

MAX_INT = 2**31 - 1  # absl names the flag of a value out of range; more overflows int32


def _count(name: str, default: int, help_text: str, lower_bound: int = 1) -> None:
  """An integer flag from `lower_bound` to MAX_INT."""
  flags.DEFINE_integer(name, default, help_text, lower_bound=lower_bound, upper_bound=MAX_INT)


flags.DEFINE_string("env", "go_9x9", "Game to benchmark (selfplay: a board game; ppo: "
                    "minatar-breakout and friends, CartPole-v1 or a two-player board game).")
_count("selfplay_batch_size", 256, "Games played in parallel.")
_count("num_simulations", 32, "MCTS simulations per move.")
flags.DEFINE_enum("search", "gumbel", ["gumbel", "puct"], "Search policy.")
_count("num_channels", 32, "Residual tower width.")
_count("num_blocks", 2, "Residual blocks.", lower_bound=0)
flags.DEFINE_enum("bf16", "auto", ["auto", "true", "false"], "bfloat16 activations.")
_count("num_envs", 64, "ppo, muzero: parallel environments.")
_count("num_steps", 128, "ppo: rollout length per update.")
_count("num_epochs", 4, "ppo: passes over each rollout.")
_count("num_minibatches", 8, "ppo: minibatches per epoch.")
flags.DEFINE_enum("torso", "mlp", list(PPO_TORSOS),
                  "ppo: mlp (PureJaxRL's 64x64 actor and critic), cnn (MinAtar conv) or "
                  "column (horizontal convolution over the whole screen, then the MLP).")
_count("hidden", 64, "ppo: width of the dense layers; muzero: latent width.")
_count("updates", 4, "ppo: updates per timed call.")
_count("moves", 8, "Self-play moves per timed call.")
flags.DEFINE_string("envs", "all", "envs: comma-separated env names, or all registered envs.")
_count("train_batch_size", 1024, "learner: positions per SGD step (global).")
_count("sgd_steps", 8, "learner: SGD steps per timed call.")
_count("repeats", 3, "Timed samples after the warm-up; the best is reported.")
flags.DEFINE_float("min_sample_s", 0.2, "A timed sample repeats a short call until it lasts "
                   "about this long (and reports seconds per call).")
_common.define_distributed_flags()
FLAGS = flags.FLAGS


def machine() -> dict:
  import jax
  return {"machine": platform.node(), "cpu_count": os.cpu_count(),
          "device_kind": jax.devices()[0].device_kind, "backend": jax.default_backend(),
          "num_devices": jax.device_count(), "num_processes": jax.process_count(),
          "jax_version": jax.__version__}


def bench_selfplay() -> dict:
  import jax
  import envs
  from agents import search as search_lib
  from zerogo import networks

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
  selfplay_s, eval_s = _best((play, params, states, jax.random.PRNGKey(3)),
                             (evaluate, params, states))
  positions_per_s = batch * FLAGS.moves / selfplay_s
  simulations_per_s = positions_per_s * FLAGS.num_simulations
  evaluations_per_s = batch / eval_s
  return {"bench": "selfplay", "env": FLAGS.env, "selfplay_batch_size": batch,
          "num_simulations": FLAGS.num_simulations, "search": FLAGS.search,
          "num_channels": FLAGS.num_channels, "num_blocks": FLAGS.num_blocks, "bf16": bf16,
          "positions_per_s": round(positions_per_s, 1),
          "simulations_per_s": round(simulations_per_s, 1),
          "evaluations_per_s": round(evaluations_per_s, 1),
          "network_limit_ratio": round(simulations_per_s / evaluations_per_s, 4)}


def bench_ppo() -> dict:
  import jax
  import envs
  from agents import ppo

  config = ppo.PPOConfig(env_id=FLAGS.env, num_envs=FLAGS.num_envs, num_steps=FLAGS.num_steps,
                         num_epochs=FLAGS.num_epochs, num_minibatches=FLAGS.num_minibatches,
                         torso=FLAGS.torso, hidden=FLAGS.hidden,
                         total_steps=FLAGS.num_envs * FLAGS.num_steps * 1000)
  trainer = ppo.PPO(config, updates_per_step=FLAGS.updates)
  env, n = trainer.env, config.num_envs
  game = envs.AutoReset(env)
  raw = _random_steps(lambda s, a, k: jax.vmap(game.step)(s, a, k)[0],
                      lambda s: s.legal_action_mask, n, config.num_steps)
  states = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(0), n))
  train_s, raw_s = _best(_stepping(trainer.step, trainer.init()),
                         (raw, states, jax.random.PRNGKey(1)))
  train_steps_per_s = FLAGS.updates * config.steps_per_update / train_s
  raw_steps_per_s = n * config.num_steps / raw_s
  return {"bench": "ppo", "env": FLAGS.env, "num_envs": n, "num_steps": FLAGS.num_steps,
          "num_epochs": FLAGS.num_epochs, "num_minibatches": FLAGS.num_minibatches,
          "torso": trainer.network.torso, "hidden": FLAGS.hidden,
          "env_steps_per_s": round(train_steps_per_s, 1),
          "raw_env_steps_per_s": round(raw_steps_per_s, 1),
          "env_limit_ratio": round(train_steps_per_s / raw_steps_per_s, 4)}


def _random_steps(step, legal_mask, num_envs: int, num_steps: int):
  """jit(carry, key) -> carry: `num_steps` batched steps of `step(carry,
  actions, keys)` with uniformly random legal actions (`legal_mask(carry)`),
  in one scan."""
  import jax
  import jax.numpy as jnp

  @jax.jit
  def run(carry, key):
    def body(carry, k):
      action_key, step_key = jax.random.split(k)
      logits = jnp.where(legal_mask(carry), 0.0, -jnp.inf)
      actions = jax.random.categorical(action_key, logits).astype(jnp.int32)
      return step(carry, actions, jax.random.split(step_key, num_envs)), None
    return jax.lax.scan(body, carry, jax.random.split(key, num_steps))[0]
  return run


def _samples(calls, *, repeats: int, min_sample_s: float) -> list[list[float]]:
  """`repeats` timed samples (seconds per call) of each `(fn, *args)` in
  `calls`, after a warm-up call, taken in turns - each round starts at the
  next call, so no variant always runs first - so that machine noise hits
  every variant alike. A sample times as many back-to-back calls as fill
  `min_sample_s`, so that millisecond-long calls are not measured at the
  mercy of one scheduler tick."""
  import jax

  def once(fn, *args):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start

  for fn, *args in calls:
    jax.block_until_ready(fn(*args))  # compile + warm-up
  counts = [max(1, math.ceil(min_sample_s / max(once(*c), 1e-6))) for c in calls]
  samples = [[] for _ in calls]
  for r in range(max(repeats, 1)):
    for j in range(len(calls)):
      i = (r + j) % len(calls)
      fn, *args = calls[i]
      start = time.perf_counter()
      for _ in range(counts[i]):
        # One call at a time: queued multi-device calls can deadlock XLA:CPU's
        # in-process collectives (seen: an all-reduce rendezvous timing out).
        jax.block_until_ready(fn(*args))
      samples[i].append((time.perf_counter() - start) / counts[i])
  return samples


def _best(*calls) -> list[float]:
  """Best of `_samples` per call, with --repeats and --min_sample_s."""
  samples = _samples(calls, repeats=FLAGS.repeats, min_sample_s=FLAGS.min_sample_s)
  return [min(s) for s in samples]


def _stepping(step, state) -> tuple:
  """A call for `_samples`: one `state, metrics = step(state)` (a training
  step that consumes its state, which each call carries on)."""
  carry = [state]

  def call():
    carry[0], _ = step(carry[0])
    return carry[0]
  return (call,)


def _paired_ratio(samples: list[float], reference: list[float]) -> float:
  """Median over rounds of time / reference time in the same round: slow
  drift of the machine cancels within a round, outliers drop out."""
  import statistics
  return statistics.median(a / b for a, b in zip(samples, reference))


def _reference(env, n: int):
  """The library's own batched step with its own auto-reset, for `env`:
  (name, step(carry, actions, keys) -> carry, legal_mask(carry), carry)."""
  import jax
  import jax.numpy as jnp
  keys = jax.random.split(jax.random.PRNGKey(0), n)
  if hasattr(env, "_pgx"):
    import pgx.experimental
    raw = env._pgx
    step = jax.vmap(pgx.experimental.auto_reset(raw.step, raw.init))
    return "pgx", step, lambda s: s.legal_action_mask, jax.vmap(raw.init)(keys)
  # gymnax: step() auto-resets; the observation is carried so that it is
  # computed (zerogo's state holds it), as in a real rollout.
  genv, params = env._env, env._params

  def step(carry, actions, step_keys):
    obs, state, *_ = jax.vmap(genv.step, (0, 0, 0, None))(step_keys, carry[1], actions, params)
    return obs, state

  obs, state = jax.vmap(genv.reset, (0, None))(keys, params)
  return "gymnax", step, lambda c: jnp.ones((n, env.num_actions), bool), (obs, state)


def bench_envs():
  """Yields, per env: steps/s through zerogo's env layer (env + auto-reset:
  what the agents step), the same plus episode statistics, and the
  library's own batched step and auto-reset, timed in turns in the same run."""
  import jax
  import envs

  names = envs.list_envs() if FLAGS.envs == "all" else FLAGS.envs.split(",")
  for name in names:
    envs.check_env_name(name)
  n, t = FLAGS.num_envs, FLAGS.num_steps
  keys = jax.random.split(jax.random.PRNGKey(0), n)
  for name in names:
    env = envs.make(name)
    game = envs.AutoReset(env)
    stats = envs.RecordEpisodeStatistics(game)
    game_run = _random_steps(lambda c, a, k: jax.vmap(game.step)(c, a, k)[0],
                             lambda c: c.legal_action_mask, n, t)
    stats_run = _random_steps(lambda c, a, k: jax.vmap(stats.step)(c, a, k)[0],
                              lambda c: c[0].legal_action_mask, n, t)
    lib, raw_step, raw_mask, raw_carry = _reference(env, n)
    raw_run = _random_steps(raw_step, raw_mask, n, t)
    key = jax.random.PRNGKey(1)
    game_t, stats_t, raw_t = _samples(
        [(game_run, jax.vmap(game.init)(keys), key), (stats_run, jax.vmap(stats.init)(keys), key),
         (raw_run, raw_carry, key)], repeats=FLAGS.repeats, min_sample_s=FLAGS.min_sample_s)
    yield {"bench": "envs", "env": name, "reference": lib, "num_envs": n,
                 "num_steps": t, "repeats": len(raw_t),
                 "steps_per_s": round(n * t / min(game_t), 1),
                 "with_stats_steps_per_s": round(n * t / min(stats_t), 1),
                 "raw_steps_per_s": round(n * t / min(raw_t), 1),
                 "wrapper_overhead": round(_paired_ratio(game_t, raw_t) - 1, 4),
                 "with_stats_overhead": round(_paired_ratio(stats_t, raw_t) - 1, 4)}


def bench_learner() -> dict:
  """AlphaZero SGD steps/s (forward, backward, gradient psum, AdamW) on a
  random batch, against forward-only evaluation of the same batch."""
  import jax
  import jax.numpy as jnp
  import envs
  from agents import alphazero
  from zerogo import learner, networks, replay, sharding

  env = envs.make(FLAGS.env)
  bf16 = _common.resolve_bf16(FLAGS.bf16)
  mesh = sharding.make_mesh()
  batch_size = FLAGS.train_batch_size
  sharding.check_divisible("train_batch_size", batch_size, mesh.size)
  config = alphazero.AlphaZeroConfig(env_id=FLAGS.env, num_channels=FLAGS.num_channels,
                                     num_blocks=FLAGS.num_blocks, bf16=bf16,
                                     train_batch_size=batch_size)
  network = alphazero.make_network(config, env)
  optimizer = alphazero.make_optimizer(config)
  loss_fn = alphazero.make_loss_fn(config, network)
  params = networks.init_params(network, env.observation_shape, jax.random.PRNGKey(0))
  train = sharding.replicate(learner.init_train_state(params, optimizer), mesh)
  k = jax.random.split(jax.random.PRNGKey(1), 3)
  batch = replay.Batch(
      observation=jax.random.uniform(k[0], (batch_size, *env.observation_shape)) < 0.3,
      policy=jax.nn.softmax(jax.random.normal(k[1], (batch_size, env.num_actions))),
      value=jax.random.uniform(k[2], (batch_size,), minval=-1, maxval=1),
      search_value=jnp.zeros((batch_size,)),
      weight=jnp.ones((batch_size,)),
      reply_policy=jnp.zeros((batch_size, env.num_actions)))
  batch = sharding.shard(batch, mesh)

  def steps(train, batch):
    for _ in range(FLAGS.sgd_steps):  # straight-line, as in the real learner
      train, _ = learner.sgd_step(train, batch, loss_fn=loss_fn, optimizer=optimizer)
    return train

  R, S = sharding.REPLICATED, sharding.SHARDED
  sgd = jax.jit(sharding.data_parallel(steps, mesh, in_specs=(R, S), out_specs=R))
  forward = jax.jit(lambda p, x: network.apply(p, x))
  sgd_s, forward_s = _best((sgd, train, batch), (forward, params, batch.observation))
  sgd_steps_per_s = FLAGS.sgd_steps / sgd_s
  return {"bench": "learner", "env": FLAGS.env, "train_batch_size": batch_size,
          "num_channels": FLAGS.num_channels, "num_blocks": FLAGS.num_blocks, "bf16": bf16,
          "sgd_steps_per_s": round(sgd_steps_per_s, 2),
          "samples_per_s": round(sgd_steps_per_s * batch_size, 1),
          "forward_samples_per_s": round(batch_size / forward_s, 1),
          # samples trained per second / samples evaluated per second
          "train_to_forward_ratio": round(sgd_steps_per_s * forward_s, 4)}


def bench_iteration() -> dict:
  """Whole AlphaZero training iterations (self-play unroll + SGD steps, one
  compiled program, data-parallel over every device of every process): what
  `launch/selfplay.py` runs, without evaluation and checkpoints."""
  from agents import alphazero

  config = alphazero.AlphaZeroConfig(
      env_id=FLAGS.env, selfplay_batch_size=FLAGS.selfplay_batch_size,
      unroll_length=FLAGS.moves, num_simulations=FLAGS.num_simulations, search=FLAGS.search,
      num_channels=FLAGS.num_channels, num_blocks=FLAGS.num_blocks,
      bf16=_common.resolve_bf16(FLAGS.bf16), train_batch_size=FLAGS.train_batch_size,
      sgd_steps_per_iteration=FLAGS.sgd_steps, replay_rows=max(FLAGS.moves, 8))
  az = alphazero.AlphaZero(config)
  best, = _best(_stepping(az.step, az.init()))
  return {"bench": "iteration", "env": FLAGS.env, "selfplay_batch_size": config.selfplay_batch_size,
          "unroll_length": config.unroll_length, "num_simulations": config.num_simulations,
          "num_channels": config.num_channels, "num_blocks": config.num_blocks,
          "train_batch_size": config.train_batch_size,
          "sgd_steps_per_iteration": config.sgd_steps_per_iteration, "bf16": config.bf16,
          "iterations_per_s": round(1 / best, 3),
          "positions_per_s": round(config.selfplay_batch_size * config.unroll_length / best, 1)}


def bench_muzero() -> dict:
  """Whole MuZero iterations (act with search in the learned model + SGD
  steps) and, on the same batch, the search alone against one model step
  (dynamics + prediction, what each simulation costs in network calls)."""
  import jax
  import jax.numpy as jnp
  from agents import muzero, muzero_search

  n = FLAGS.num_envs
  config = muzero.MuZeroConfig(
      env_id=FLAGS.env, num_envs=n, unroll_length=FLAGS.moves,
      num_simulations=FLAGS.num_simulations, search=FLAGS.search,
      latent_size=FLAGS.hidden, num_blocks=FLAGS.num_blocks,
      train_batch_size=FLAGS.train_batch_size, sgd_steps_per_iteration=FLAGS.sgd_steps)
  if config.train_batch_size % n:
    raise ValueError(f"--train_batch_size={config.train_batch_size} must be a multiple of "
                     f"--num_envs={n}")
  mz = muzero.MuZero(config)
  iteration_s, = _best(_stepping(mz.step, mz.init()))
  env, network = mz.env, mz.network
  params = muzero.init_params(network, env, jax.random.PRNGKey(0))
  states = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(1), n))
  obs, legal = jax.vmap(env.observe)(states), states.legal_action_mask
  search = jax.jit(muzero_search.from_config(config, env, network))
  initial = muzero_search.make_initial_inference(network)
  recurrent = muzero_search.make_recurrent_fn(network, 1.0)
  latent = initial(params, obs)[0]
  model_step = jax.jit(lambda p, z: recurrent(p, None, jnp.zeros(n, jnp.int32), z))
  search_s, model_s = _best((search, params, jax.random.split(jax.random.PRNGKey(2), n), obs,
                             legal, jnp.ones(n, bool)), (model_step, params, latent))
  simulations_per_s = n * config.num_simulations / search_s
  evaluations_per_s = n / model_s
  return {"bench": "muzero", "env": FLAGS.env, "num_envs": n,
          "unroll_length": config.unroll_length, "num_simulations": config.num_simulations,
          "search": config.search, "latent_size": config.latent_size,
          "num_blocks": config.num_blocks, "train_batch_size": config.train_batch_size,
          "sgd_steps_per_iteration": config.sgd_steps_per_iteration,
          "env_steps_per_s": round(config.steps_per_iteration / iteration_s, 1),
          "simulations_per_s": round(simulations_per_s, 1),
          "evaluations_per_s": round(evaluations_per_s, 1),
          "network_limit_ratio": round(simulations_per_s / evaluations_per_s, 4)}


def main(argv):
  benches = {"envs": bench_envs, "selfplay": bench_selfplay, "learner": bench_learner,
             "ppo": bench_ppo, "iteration": bench_iteration, "muzero": bench_muzero}
  if len(argv) != 2 or argv[1] not in benches:
    _common.die(f"usage: bench.py {{{','.join(benches)}}} [--flags]; got {argv[1:]}")
  _common.quiet_logs()

  def run():
    if not 0 <= FLAGS.min_sample_s < 3600:  # NaN fails both
      raise ValueError(f"--min_sample_s must be in [0, 3600), got {FLAGS.min_sample_s}")
    _common.init_distributed()  # before anything touches a device
    import jax
    rows = benches[argv[1]]()
    for row in rows if argv[1] == "envs" else [rows]:  # envs: one line per env, as measured
      if jax.process_index() == 0:
        print(json.dumps({**row, **machine()}), flush=True)

  _common.run_guarded(run)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
