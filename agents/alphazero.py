"""AlphaZero: self-play with mctx, search-policy and game-result targets.

One iteration is one compiled program, run once per device under
`shard_map` (Anakin style): every device plays `unroll_length` moves in each
of its game slots, stores the positions in its replay ring, then takes
`sgd_steps_per_iteration` SGD steps whose gradients are summed over devices.
The host only sees a dict of scalars per iteration. Game slots keep their
games across iterations; finished games restart in place.

Every random draw is keyed by (iteration, move, *global* game index), so a
run's numbers do not depend on how many devices share the work.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
import optax

import envs
from agents import evaluation, loading, players, search as search_lib
from agents.configs import AlphaZeroConfig  # noqa: F401  (re-exported)
from envs import go, symmetry
from zerogo import checkpoint, config as config_lib, learner, networks, replay, sharding
from zerogo import trainer as trainer_lib
from zerogo.agent import Agent


def validate(config: AlphaZeroConfig, num_devices: int) -> None:
  """Raises ValueError with one sentence naming the fix; does no JAX work."""
  config_lib.check(config)
  env = envs.make(config.env_id)  # an unknown env_id raises UnknownEnvError here
  if not env.is_perfect_information_two_player:
    raise ValueError(
        f"AlphaZero needs a deterministic two-player game with perfect "
        f"information; {config.env_id!r} is not one (try connect_four or go_9x9)")
  sharding.check_divisible("selfplay_batch_size", config.selfplay_batch_size,
                           num_devices)
  if config.init_from:
    loading.init_from_meta(config.init_from, **init_from_spec(config))
  if config.train_batch_size % config.selfplay_batch_size:
    raise ValueError(
        f"--train_batch_size={config.train_batch_size} must be a multiple of "
        f"--selfplay_batch_size={config.selfplay_batch_size} (each game slot "
        f"contributes the same number of positions to a batch)")
  if config.fast_search_fraction > 0 and config.fast_simulations >= config.num_simulations:
    raise ValueError(
        f"--fast_simulations={config.fast_simulations} must be less than "
        f"--num_simulations={config.num_simulations} (it is the cheap search of "
        f"playout cap randomization)")
  if config.no_pass_before and not go.is_go(config.env_id):
    raise ValueError(f"--no_pass_before is for Go (the pass move); {config.env_id!r} "
                     "has no pass to hold back")
  if config.ownership_head and not (go.is_go(config.env_id) and config.torso == "conv"):
    raise ValueError(
        f"--ownership_head needs Go and --torso=conv (it predicts every point's final "
        f"owner); {config.env_id!r} with --torso={config.torso} has no such target")


# The fields that fix the network's shapes, which --init_from must share.
NETWORK_FIELDS = ("env_id", "num_channels", "num_blocks", "torso", "global_pool", "reply_head",
                  "ownership_head")


def init_from_spec(config: AlphaZeroConfig) -> dict:
  """What `agents.loading.init_from_meta` checks for --init_from."""
  return dict(algorithms=("alphazero", "pretrain"),
              network_fields={name: getattr(config, name) for name in NETWORK_FIELDS})


@chex.dataclass(frozen=True)
class ActorState:
  """Per-game-slot self-play state, sharded on the leading axis B.

  env_state: env states [B]; episode: [B] int32 games finished per slot;
  moves: [B] int32 moves played in the slot's current game; replay: [B, T, ...].
  """
  env_state: Any
  episode: chex.Array
  moves: chex.Array
  replay: replay.ReplayBuffer


@chex.dataclass(frozen=True)
class RunState:
  """All a run needs to continue bit for bit (what a checkpoint holds)."""
  train: learner.TrainState
  actor: ActorState
  key: chex.Array        # base key; iteration keys fold in the iteration
  iteration: chex.Array  # [] int32 iterations completed


def make_network(config: AlphaZeroConfig, env) -> networks.AlphaZeroNet:
  return networks.make_network(env.num_actions, num_channels=config.num_channels,
                               num_blocks=config.num_blocks, torso=config.torso,
                               bf16=config.bf16, global_pool=config.global_pool,
                               reply_head=config.reply_head,
                               ownership_head=config.ownership_head)


def make_optimizer(config: AlphaZeroConfig) -> optax.GradientTransformation:
  return learner.make_optimizer(
      learning_rate=config.learning_rate, weight_decay=config.weight_decay,
      warmup_steps=config.warmup_steps, total_steps=config.total_sgd_steps)


def init_run_state(config: AlphaZeroConfig, env, network, optimizer,
                   key: jax.Array | None = None) -> RunState:
  """The state before iteration 0 (unsharded; place it with `place`). `key`
  replaces PRNGKey(config.seed) as the source of all randomness."""
  key = jax.random.key_data(jax.random.PRNGKey(config.seed) if key is None else key)
  param_key, env_key = jax.random.split(jax.random.wrap_key_data(key))
  params = networks.init_params(network, env.observation_shape, param_key)
  slots = config.selfplay_batch_size
  env_state = jax.vmap(env.init)(jax.random.split(env_key, slots))
  buffer = replay.init(slots, config.replay_rows, env.observation_shape,
                       env_state.observation.dtype, env.num_actions,
                       ownership_points=env.num_actions - 1 if config.ownership_head else 0)
  actor = ActorState(env_state=env_state, episode=jnp.zeros(slots, jnp.int32),
                     moves=jnp.zeros(slots, jnp.int32), replay=buffer)
  return RunState(train=learner.init_train_state(params, optimizer), actor=actor,
                  key=key, iteration=jnp.int32(0))


def run_state_specs() -> RunState:
  """PartitionSpecs: learner state replicated, actor state sharded."""
  R = sharding.REPLICATED
  return RunState(train=R, actor=sharding.SHARDED, key=R, iteration=R)


def make_loss_fn(config: AlphaZeroConfig, network) -> Any:
  """Per-position losses. An all-zero policy target (a fast-search move of
  playout cap randomization; a missing reply) contributes no policy loss,
  so `policy_loss` averages over every sampled row, those counting 0."""
  def loss_fn(params, batch: replay.Batch):
    (logits, value), sown = network.apply(params, batch.observation,
                                          mutable="intermediates")
    policy_loss = optax.softmax_cross_entropy(logits, batch.policy)
    mix = config.search_value_weight
    target = (1.0 - mix) * batch.value + mix * batch.search_value
    value_loss = jnp.square(value - target)
    loss = policy_loss + config.value_loss_weight * value_loss
    metrics = {"policy_loss": policy_loss, "value_loss": value_loss}
    if config.reply_head:
      reply_logits = sown["intermediates"]["reply"][0]
      metrics["reply_loss"] = optax.softmax_cross_entropy(reply_logits, batch.reply_policy)
      loss = loss + config.reply_loss_weight * metrics["reply_loss"]
    if config.ownership_head:
      owner_logits = sown["intermediates"]["ownership"][0]
      metrics["ownership_loss"] = optax.sigmoid_binary_cross_entropy(
          owner_logits, (1.0 + batch.ownership) / 2).mean(-1)
      metrics["score_loss"] = jnp.square(sown["intermediates"]["score"][0] - batch.score)
      loss = (loss + config.ownership_loss_weight * metrics["ownership_loss"]
              + config.score_loss_weight * metrics["score_loss"])
    return loss, metrics
  return loss_fn


def augment_batch(env_id: str, keys, batch: replay.Batch) -> replay.Batch:
  """A random board symmetry per example (keys: [N]), applied to the
  observation and to every per-point target with it: the search policy, the
  opponent's reply and (Go) the final ownership, which rides along as one
  more [A] column with a zero for the pass."""
  columns = [batch.policy, batch.reply_policy]
  if batch.ownership is not None:
    columns.append(jnp.pad(batch.ownership, ((0, 0), (0, 1))))
  observation, moved = symmetry.augment(env_id, keys, batch.observation,
                                        jnp.stack(columns, axis=-1))
  batch = batch.replace(observation=observation, policy=moved[..., 0],
                        reply_policy=moved[..., 1])
  if batch.ownership is not None:
    batch = batch.replace(ownership=moved[:, :-1, 2])
  return batch


def make_iteration_fn(config: AlphaZeroConfig, env, network, optimizer):
  """The per-device body of one iteration: (RunState) -> (RunState, metrics)."""
  game = envs.AutoReset(env)
  search = search_lib.make_search(
      env, network, search=config.search, num_simulations=config.num_simulations,
      max_num_considered_actions=config.max_num_considered_actions,
      gumbel_scale=config.gumbel_scale,
      dirichlet_fraction=config.dirichlet_fraction,
      dirichlet_alpha=config.dirichlet_alpha, no_pass_before=config.no_pass_before)
  fast_search = search_lib.make_search(
      env, network, search=config.search, num_simulations=config.fast_simulations,
      max_num_considered_actions=config.max_num_considered_actions, greedy=True,
      no_pass_before=config.no_pass_before)
  loss_fn = make_loss_fn(config, network)

  def play_move(params, actor: ActorState, key, opening_key):
    states = actor.env_state
    num_local = actor.episode.shape[0]
    keys = jax.vmap(jax.random.split)(sharding.global_keys(key, num_local))
    explore = (actor.moves < config.sample_moves) | (config.sample_moves == 0)
    if config.fast_search_fraction > 0:
      # Playout cap randomization: one draw per move from the replicated
      # key, so every game on every device makes the same choice and a
      # cond (not both searches) runs.
      fast = jax.random.uniform(jax.random.fold_in(key, 2**31 - 1)) < config.fast_search_fraction
      out = jax.lax.cond(fast, lambda: fast_search(params, keys[:, 0], states),
                         lambda: search(params, keys[:, 0], states, explore))
      out = out.replace(policy=jnp.where(fast, 0.0, out.policy))
    else:
      out = search(params, keys[:, 0], states, explore)
    action, episode = out.action, actor.episode
    if config.random_opening_moves:
      # The opening's length is drawn per game from (global slot, episode);
      # its rows go in under episode -1, which no game ends, so they never
      # get a target and are never sampled.
      opening = jax.vmap(lambda k, e: jax.random.randint(
          jax.random.fold_in(k, e), (), 0, config.random_opening_moves + 1))(
              sharding.global_keys(opening_key, num_local), actor.episode)
      random_move = jax.vmap(lambda k, legal: envs.random_legal_action(
          jax.random.fold_in(k, 1), legal))(keys[:, 0], states.legal_action_mask)
      in_opening = actor.moves < opening
      action = jnp.where(in_opening, random_move, action)
      episode = jnp.where(in_opening, -1, episode)
    buffer = replay.add(actor.replay, jax.vmap(env.observe)(states), out.policy,
                        states.current_player, episode, out.search_value)
    states, info, final = jax.vmap(game.step_with_final)(states, action, keys[:, 1])
    ownership = score = None
    if config.ownership_head:
      # The flood fill runs only on moves where some game of this device
      # ended (a few in 30); the targets of unfinished games are unused.
      targets = lambda: jax.vmap(lambda s: go.final_targets(s, env.komi))(final)
      ownership, score = jax.lax.cond(info.done.any(), targets,
                                      lambda: jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype),
                                                           jax.eval_shape(targets)))
    buffer = replay.backfill(buffer, info.done, info.rewards, actor.episode, ownership, score)
    moves = actor.moves + 1
    stats = {"games_finished": info.done.sum(),
             "finished_game_moves": jnp.where(info.done, moves, 0).sum(),
             "draws": (info.done & (jnp.abs(info.rewards).sum(-1) == 0)).sum(),
             "root_value_abs": jnp.abs(out.root_value).sum()}
    actor = ActorState(env_state=states, episode=actor.episode + info.done,
                       moves=jnp.where(info.done, 0, moves), replay=buffer)
    return actor, stats

  def iteration(state: RunState):
    key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.iteration)
    play_key, sgd_key = jax.random.split(key)
    opening_key = jax.random.fold_in(jax.random.wrap_key_data(state.key), 2**31 - 2)
    params = state.train.params

    def move(actor, t):
      return play_move(params, actor, jax.random.fold_in(play_key, t), opening_key)

    actor, move_stats = jax.lax.scan(move, state.actor,
                                     jnp.arange(config.unroll_length))
    num_local = actor.episode.shape[0]

    def sgd(train, k):
      slot_keys = sharding.global_keys(jax.random.fold_in(sgd_key, k), num_local)
      batch = replay.sample(actor.replay, slot_keys, config.samples_per_slot)
      if config.augment:
        per_slot = config.samples_per_slot
        example_keys = jax.vmap(lambda k: jax.random.split(
            jax.random.fold_in(k, 1), per_slot))(slot_keys).reshape(-1)
        batch = augment_batch(config.env_id, example_keys, batch)
      return learner.sgd_step(train, batch, loss_fn=loss_fn, optimizer=optimizer)

    # Convolutions take straight-line SGD steps (learner.scan_or_unroll).
    conv = config.torso != "mlp" and len(env.observation_shape) == 3
    train, sgd_metrics = learner.scan_or_unroll(
        sgd, state.train, jnp.arange(config.sgd_steps_per_iteration), unroll=conv)
    total = sharding.total
    finished = total(move_stats["games_finished"])
    metrics = {k: v.mean() for k, v in sgd_metrics.items()}
    metrics.update(
        games_finished=finished,
        game_length=total(move_stats["finished_game_moves"]) / jnp.maximum(finished, 1),
        draw_rate=total(move_stats["draws"]) / jnp.maximum(finished, 1),
        root_value_abs=total(move_stats["root_value_abs"])
        / (config.unroll_length * config.selfplay_batch_size),
        replay_fill=jax.lax.pmean(replay.fill_fraction(actor.replay), sharding.DATA))
    new_state = RunState(train=train, actor=actor, key=state.key,
                         iteration=state.iteration + 1)
    return new_state, metrics

  return iteration


class AlphaZero(trainer_lib.ShardedTrainer):
  """The AlphaZero trainer (`zerogo.trainer.Trainer`): one compiled,
  data-parallel iteration per `step`.

  >>> az = AlphaZero(config)
  >>> state = az.init()
  >>> state, metrics = az.step(state)   # one iteration, all devices
  """

  algorithm = "alphazero"
  progress_unit = "it"

  def __init__(self, config: AlphaZeroConfig, mesh=None):
    self.bind(config, mesh, validate, config.num_iterations)
    self.env = envs.make(config.env_id)
    self.network = make_network(config, self.env)
    self.optimizer = make_optimizer(config)
    body = make_iteration_fn(config, self.env, self.network, self.optimizer)
    self.state_specs = run_state_specs()
    self.step = trainer_lib.CompiledStep(trainer_lib.one_update(body), self.mesh,
                                         self.state_specs,
                                         name="AlphaZero iteration")

  def initial_state(self, key: jax.Array | None) -> RunState:
    return init_run_state(self.config, self.env, self.network, self.optimizer, key)

  def init(self, key: jax.Array | None = None) -> RunState:
    """The placed state before iteration 0; with --init_from, its network
    (and a fresh optimizer) replace the random one."""
    if not self.config.init_from:
      return super().init(key)
    state = self.initial_state(key)
    params = loading.init_from_params(
        self.config.init_from, jax.eval_shape(lambda: state.train.params),
        **init_from_spec(self.config))
    state = state.replace(train=learner.init_train_state(params, self.optimizer))
    return sharding.place_by_field(state, self.state_specs, self.mesh)

  def updates_done(self, state: RunState) -> int:
    return int(jax.device_get(state.iteration))

  def params(self, state: RunState):
    return state.train.params

  def summarise(self, chunks, updates_done: int) -> dict[str, float]:
    del updates_done
    return trainer_lib.mean_scalars(chunks)

  def evaluator(self, *, games: int, uct_simulations: int) -> evaluation.Evaluator:
    # The periodic evaluations search with the self-play budget, not the play
    # budget: they track training at its own cost, and a flagfile can give
    # the finished agent a large --play_simulations without slowing the run.
    player = search_player(self.config, self.env, self.network, None,
                           num_simulations=self.config.num_simulations)
    return evaluation.Evaluator(player, seed=self.config.seed, games=games,
                                uct_simulations=uct_simulations)


def search_player(config: AlphaZeroConfig, env, network, params, *,
                  num_simulations: int | None = None, name: str = "alphazero") -> Agent:
  """The greedy search player over `params` (None: set them later), with
  the config's search and play budget unless `num_simulations` overrides it."""
  if num_simulations is None:
    num_simulations = (config.num_simulations if config.play_simulations is None
                       else config.play_simulations)
  return players.search_agent(env, network, params, num_simulations=num_simulations,
                              search=config.search,
                              max_num_considered_actions=config.max_num_considered_actions,
                              name=name, no_pass_before=config.no_pass_before)


def agent_from_checkpoint(meta: dict, directory: str, step: int, *,
                          num_simulations: int | None, seed_index: int) -> Agent:
  """The search player saved in checkpoint `directory/step` (load_agent)."""
  if seed_index != 0:
    raise ValueError(f"checkpoint {directory}/{step} holds one alphazero agent; "
                     f"there is no seed {seed_index}")
  if num_simulations is not None and num_simulations < 0:
    raise ValueError(f"num_simulations must be >= 0, got {num_simulations}")
  config = config_lib.from_dict(AlphaZeroConfig, meta["config"])
  env = envs.make(config.env_id)
  network = make_network(config, env)
  params = checkpoint.restore_params_locally(directory, step, jax.eval_shape(
      lambda: networks.init_params(network, env.observation_shape, jax.random.PRNGKey(0))))
  return search_player(config, env, network, params, num_simulations=num_simulations,
                       name=f"alphazero@{step}")
