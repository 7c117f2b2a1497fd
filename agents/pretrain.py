"""Supervised warm start from game records (AlphaGo's SL stage).

The AlphaZero network learns to predict the moves played in game records
(cross-entropy over the legal moves) and their results (squared error of
the value against +1/0/-1 from the mover's side), on positions replayed
from SGF files or tournament `games.jsonl` files (`zerogo.datasets`).
Whole games are held out for the held-out accuracy and loss. The
checkpoint is a normal one: `load_agent` plays it with search, and
`selfplay.py --init_from` starts self-play from its network.

One `step` is `steps_per_call` SGD steps in one compiled, data-parallel
program: the positions are replicated on every device (kept out of the run
state, so checkpoints do not store them), each device draws its share of
the global batch keyed by the global example index, and gradients are
summed over devices (`zerogo.learner.sgd_step`).
"""

from __future__ import annotations

import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

import envs
from agents import alphazero, evaluation
from agents.configs import AlphaZeroConfig, PretrainConfig
from envs import symmetry
from zerogo import checkpoint, datasets, learner, networks, sharding
from zerogo import config as config_lib
from zerogo import trainer as trainer_lib
from zerogo.agent import Agent


def validate(config: PretrainConfig, num_devices: int) -> None:
  """One sentence naming the fix; reads no records and does no JAX work."""
  config_lib.check(config)
  env = envs.make(config.env_id)
  if not env.is_perfect_information_two_player:
    raise ValueError(f"pretraining fits the AlphaZero network of a two-player board game; "
                     f"{config.env_id!r} is not one (try go_7x7 or connect_four)")
  if not [p for p in (config.records or "").split(",") if p.strip()]:
    raise ValueError("--records is required: SGF files, games.jsonl files or directories")
  sharding.check_divisible("batch_size", config.batch_size, num_devices)
  if config.num_steps % config.steps_per_call:
    raise ValueError(f"--steps_per_call={config.steps_per_call} must divide "
                     f"--num_steps={config.num_steps}")
  if config.players:
    try:
      re.compile(config.players)
    except re.error as e:
      raise ValueError(f"--players={config.players!r} is not a regular expression "
                       f"({e})") from None


def alphazero_config(config: PretrainConfig) -> AlphaZeroConfig:
  """The AlphaZero config whose network (and search) the pretrained one is."""
  return AlphaZeroConfig(env_id=config.env_id, num_channels=config.num_channels,
                         num_blocks=config.num_blocks, torso=config.torso, bf16=config.bf16,
                         num_simulations=max(config.num_simulations, 1), search=config.search,
                         max_num_considered_actions=config.max_num_considered_actions)


@chex.dataclass(frozen=True)
class Data:
  """Positions on device. observation: [N, *obs]; legal_action_mask: [N, A];
  action: [N] int32; value: [N] float32; policy_weight: [N] float32 (0 where
  the move is not to be imitated: --winner_only, --players)."""
  observation: chex.Array
  legal_action_mask: chex.Array
  action: chex.Array
  value: chex.Array
  policy_weight: chex.Array


@chex.dataclass(frozen=True)
class Batch:
  observation: chex.Array
  legal_action_mask: chex.Array
  policy: chex.Array
  value: chex.Array
  policy_weight: chex.Array
  weight: chex.Array


@chex.dataclass(frozen=True)
class RunState:
  train: learner.TrainState
  key: chex.Array     # base key; step keys fold in the step
  step: chex.Array    # [] int32 SGD steps done


def load_positions(config: PretrainConfig):
  """(train Data as numpy, held-out Data as numpy, ReadReport). ValueError
  when the records give no position to train on."""
  paths = [p.strip() for p in config.records.split(",") if p.strip()]
  positions, report = datasets.read_positions(paths, config.env_id)
  if not len(positions):
    raise ValueError(f"--records gave no {config.env_id} positions: {report.summary()}")
  train, heldout = datasets.split_by_game(positions, config.heldout_fraction, config.seed)
  if not len(train):
    raise ValueError(f"--heldout_fraction={config.heldout_fraction} leaves no game to train "
                     "on")

  def as_data(p: datasets.Positions) -> Data:
    keep = np.ones(len(p), bool)
    if config.winner_only:
      keep &= p.value > 0
    if config.players:
      pattern = re.compile(config.players)
      named = np.array([bool(pattern.search(n)) for n in report.player_names], bool)
      keep &= named[p.player] if len(named) else keep
    return Data(observation=p.observation, legal_action_mask=p.legal_action_mask,
                action=p.action.astype(np.int32), value=p.value.astype(np.float32),
                policy_weight=keep.astype(np.float32))

  train_data = as_data(train)
  if not train_data.policy_weight.any():
    raise ValueError("no training move is left to imitate (--winner_only / --players "
                     "filtered out every move)")
  return train_data, as_data(heldout), report


def make_loss_fn(config: PretrainConfig, network):
  def loss_fn(params, batch: Batch):
    logits, value = network.apply(params, batch.observation)
    logits = envs.mask_illegal(logits, batch.legal_action_mask)
    policy_loss = optax.softmax_cross_entropy(logits, batch.policy)
    value_loss = jnp.square(value - batch.value)
    correct = (jnp.argmax(logits, -1) == jnp.argmax(batch.policy, -1)).astype(jnp.float32)
    loss = batch.policy_weight * policy_loss + config.value_loss_weight * value_loss
    # Metrics are weighted by `weight` (all 1): policy ones count imitated moves only.
    share = batch.policy_weight * batch.weight.size / jnp.maximum(
        jax.lax.psum(batch.policy_weight.sum(), sharding.DATA), 1.0) * jax.lax.psum(
            1.0, sharding.DATA)
    return loss, {"policy_loss": share * policy_loss, "accuracy": share * correct,
                  "value_loss": value_loss}
  return loss_fn


def make_step_fn(config: PretrainConfig, env, network, optimizer):
  """Per-device body: (RunState, Data) -> (RunState, metrics [steps_per_call])."""
  loss_fn = make_loss_fn(config, network)

  def sgd(train, data: Data, key, local: int):
    keys = sharding.global_keys(key, local)
    size = data.action.shape[0]
    index = jax.vmap(lambda k: jax.random.randint(k, (), 0, size))(keys)
    pick = lambda x: x[index]
    observation = pick(data.observation)
    mask = pick(data.legal_action_mask)
    policy = jax.nn.one_hot(pick(data.action), env.num_actions)
    if config.augment:
      aug_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
      rotated, policy = symmetry.augment(config.env_id, aug_keys, observation, policy)
      _, mask = symmetry.augment(config.env_id, aug_keys, observation,
                                 mask.astype(jnp.float32))
      observation, mask = rotated, mask > 0.5
    batch = Batch(observation=observation, legal_action_mask=mask, policy=policy,
                  value=pick(data.value), policy_weight=pick(data.policy_weight),
                  weight=jnp.ones(local, jnp.float32))
    return learner.sgd_step(train, batch, loss_fn=loss_fn, optimizer=optimizer)

  def body(state: RunState, data: Data):
    local = config.batch_size // jax.lax.psum(1, sharding.DATA)
    base = jax.random.wrap_key_data(state.key)
    step = lambda train, k: sgd(train, data, jax.random.fold_in(base, state.step + k), local)
    train, metrics = learner.scan_or_unroll(step, state.train, jnp.arange(config.steps_per_call),
                                            unroll=config.torso != "mlp")
    return RunState(train=train, key=state.key,
                    step=state.step + config.steps_per_call), metrics

  return body


def make_heldout_eval(network, batch: int = 512):
  """(params, Data as numpy) -> {"heldout/...": float}: move-prediction
  accuracy and policy loss over the imitated moves, value loss over all."""
  @jax.jit
  def chunk(params, observation, mask, action, value, weight, valid):
    logits, v = network.apply(params, observation)
    logits = envs.mask_illegal(logits, mask)
    policy_loss = optax.softmax_cross_entropy_with_integer_labels(logits, action)
    correct = (jnp.argmax(logits, -1) == action).astype(jnp.float32)
    weight = weight * valid
    return jnp.stack([(weight * correct).sum(), (weight * policy_loss).sum(), weight.sum(),
                      (valid * jnp.square(v - value)).sum()])

  def evaluate(params, data: Data) -> dict[str, float]:
    n = int(data.action.shape[0])
    if n == 0:
      return {}
    sums = np.zeros(4)
    for start in range(0, n, batch):
      stop = min(start + batch, n)
      pad = batch - (stop - start)  # one shape for every chunk: one compilation

      def take(x, start=start, stop=stop, pad=pad):
        return np.concatenate([x[start:stop], np.zeros((pad, *x.shape[1:]), x.dtype)])

      mask = take(data.legal_action_mask)
      mask[stop - start:, -1] = True  # padded rows need some legal move
      valid = np.arange(batch) < stop - start
      sums += np.asarray(jax.device_get(chunk(
          params, take(data.observation), mask, take(data.action), take(data.value),
          take(data.policy_weight), valid.astype(np.float32))), np.float64)
    imitated = max(sums[2], 1.0)
    return {"heldout/accuracy": sums[0] / imitated, "heldout/policy_loss": sums[1] / imitated,
            "heldout/value_loss": sums[3] / n}

  return evaluate


class Pretrain(trainer_lib.ShardedTrainer):
  """The supervised trainer (`zerogo.trainer.Trainer`): `steps_per_call`
  SGD steps on recorded positions per `step`.

  >>> pre = Pretrain(config)   # reads and replays the records
  >>> state = pre.init()
  >>> state, metrics = pre.step(state)
  """

  algorithm = "pretrain"
  update_name = "step"

  def __init__(self, config: PretrainConfig, mesh=None):
    self.bind(config, mesh, validate, config.num_steps)
    self.updates_per_step = config.steps_per_call
    self.env = envs.make(config.env_id)
    self.az_config = alphazero_config(config)
    self.network = alphazero.make_network(self.az_config, self.env)
    self.optimizer = learner.make_optimizer(
        learning_rate=config.learning_rate, weight_decay=config.weight_decay,
        warmup_steps=config.warmup_steps, total_steps=config.num_steps)
    train, heldout, self.report = load_positions(config)
    self.train_data, self.heldout_data = train, heldout
    placed = sharding.to_global(train, jax.sharding.NamedSharding(self.mesh,
                                                                  sharding.REPLICATED))
    self.state_specs = RunState(train=sharding.REPLICATED, key=sharding.REPLICATED,
                                step=sharding.REPLICATED)
    self.step = trainer_lib.CompiledStep(
        make_step_fn(config, self.env, self.network, self.optimizer), self.mesh,
        self.state_specs, name="pretrain", data=placed)
    self._heldout_eval = make_heldout_eval(self.network)

  def initial_state(self, key: jax.Array | None) -> RunState:
    key = jax.random.PRNGKey(self.config.seed) if key is None else key
    param_key, run_key = jax.random.split(key)
    params = networks.init_params(self.network, self.env.observation_shape, param_key)
    return RunState(train=learner.init_train_state(params, self.optimizer),
                    key=jax.random.key_data(run_key), step=jnp.int32(0))

  def updates_done(self, state: RunState) -> int:
    return int(jax.device_get(state.step))

  def params(self, state: RunState):
    return state.train.params

  def summarise(self, chunks, updates_done: int) -> dict[str, float]:
    out = trainer_lib.mean_scalars(chunks)
    out["positions"] = float(self.train_data.action.shape[0])
    return out

  def evaluator(self, *, games: int, uct_simulations: int):
    """Held-out accuracy and losses, and games against the random and UCT
    players with the pretrained network searching `num_simulations` per
    move (0: its policy alone)."""
    player = alphazero.search_player(self.az_config, self.env, self.network, None,
                                     num_simulations=self.config.num_simulations,
                                     name="pretrain")
    games_eval = evaluation.Evaluator(player, seed=self.config.seed, games=games,
                                      uct_simulations=uct_simulations)

    def evaluate(params, updates_done: int) -> dict[str, float]:
      out = self._heldout_eval(params, self.heldout_data)
      out.update(games_eval(params, updates_done))
      return out

    return evaluate


def agent_from_checkpoint(meta: dict, directory: str, step: int, *,
                          num_simulations: int | None, seed_index: int) -> Agent:
  """The pretrained network as a search player (load_agent), like AlphaZero's."""
  if seed_index != 0:
    raise ValueError(f"checkpoint {directory}/{step} holds one pretrained network; "
                     f"there is no seed {seed_index}")
  config = config_lib.from_dict(PretrainConfig, meta["config"])
  sims = config.num_simulations if num_simulations is None else num_simulations
  if sims < 0:
    raise ValueError(f"num_simulations must be >= 0, got {sims}")
  az = alphazero_config(config)
  env = envs.make(config.env_id)
  network = alphazero.make_network(az, env)
  params = checkpoint.restore_params_locally(directory, step, jax.eval_shape(
      lambda: networks.init_params(network, env.observation_shape, jax.random.PRNGKey(0))))
  return alphazero.search_player(az, env, network, params, num_simulations=sims,
                                 name=f"pretrain@{step}")


def make_train(config: PretrainConfig, mesh=None):
  """`train(key=None) -> (RunState, metrics)` in memory (tests, notebooks)."""
  return trainer_lib.make_train(Pretrain(config, mesh))


