"""Offline RL from logged play: behaviour cloning and discrete CQL.

The dataset (a Minari dataset, `zerogo.offline_data`) is replicated on
every device and kept out of the run state; each `step` is
`steps_per_call` SGD steps of every seed (vmapped, like PPO's seeds), each
device drawing its share of the global batch keyed by the global example
index. Evaluation plays greedy episodes in the real env.

- bc: cross-entropy of the policy logits on the logged actions.
- cql: double DQN on the logits as Q-values, with a Polyak-averaged target
  network, plus CQL(H)'s penalty `alpha * (logsumexp_a Q(s, a) - Q(s,
  a_logged))`, which keeps the Q-values of actions the data never took from
  being overestimated (Kumar et al. 2020).

The network is PPO's actor-critic, so `load_agent` plays it as a greedy
policy and `ppo.py --init_from` fine-tunes it online.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import optax

from agents import evaluation, players, ppo
from agents.configs import OfflineConfig
from zerogo import learner, networks, offline_data, sharding
from zerogo import config as config_lib
from zerogo import trainer as trainer_lib
from zerogo.agent import Agent


def make_env(config: OfflineConfig):
  return ppo.make_env(config)


def validate(config: OfflineConfig, num_devices: int) -> None:
  """One sentence naming the fix; reads no data and does no JAX work."""
  config_lib.check(config)
  env = make_env(config)
  if env.num_players != 1:
    raise ValueError(f"offline RL here is for one-player envs; {config.env_id} has "
                     f"{env.num_players} players")
  ppo.validate_network(config, env)
  if not config.dataset:
    raise ValueError("--dataset is required: a Minari dataset directory "
                     "(launch/log_play.py writes one)")
  sharding.check_divisible("batch_size", config.batch_size, num_devices)
  if config.num_steps % config.steps_per_call:
    raise ValueError(f"--steps_per_call={config.steps_per_call} must divide "
                     f"--num_steps={config.num_steps}")


@chex.dataclass(frozen=True)
class Data:
  """Transitions on device: observation [N, ...], action [N], reward [N],
  next_observation [N, ...], terminated [N] float32."""
  observation: chex.Array
  action: chex.Array
  reward: chex.Array
  next_observation: chex.Array
  terminated: chex.Array


@chex.dataclass(frozen=True)
class Batch:
  observation: chex.Array
  action: chex.Array
  reward: chex.Array
  next_observation: chex.Array
  terminated: chex.Array
  target_params: object
  weight: chex.Array


@chex.dataclass(frozen=True)
class RunState:
  """Leading axis [S] (seeds) on train, target and key; step: [] int32."""
  train: learner.TrainState
  target: object
  key: chex.Array
  step: chex.Array


def make_loss_fn(config: OfflineConfig, network):
  def loss_fn(params, batch: Batch):
    logits, _ = network.apply(params, batch.observation)
    taken = jnp.take_along_axis(logits, batch.action[:, None], axis=1)[:, 0]
    if config.algorithm == "bc":
      nll = -jnp.take_along_axis(jax.nn.log_softmax(logits), batch.action[:, None], 1)[:, 0]
      correct = (jnp.argmax(logits, -1) == batch.action).astype(jnp.float32)
      return nll, {"bc_loss": nll, "accuracy": correct}
    next_online, _ = network.apply(params, batch.next_observation)
    next_target, _ = network.apply(batch.target_params, batch.next_observation)
    best = jnp.argmax(next_online, -1)  # double DQN
    next_q = jnp.take_along_axis(next_target, best[:, None], axis=1)[:, 0]
    target = jax.lax.stop_gradient(
        batch.reward + config.gamma * (1.0 - batch.terminated) * next_q)
    td = optax.huber_loss(taken, target)
    penalty = jax.nn.logsumexp(logits, -1) - taken
    return td + config.cql_alpha * penalty, {"td_loss": td, "cql_penalty": penalty,
                                             "q_taken": taken}
  return loss_fn


def make_step_fn(config: OfflineConfig, network, optimizer):
  loss_fn = make_loss_fn(config, network)

  def one_seed(train, target, key, step, data: Data):
    local = config.batch_size // jax.lax.psum(1, sharding.DATA)
    size = data.action.shape[0]
    draw = jax.vmap(lambda key: jax.random.randint(key, (), 0, size))
    def sgd(carry, k):
      train, target = carry
      index = draw(sharding.global_keys(jax.random.fold_in(key, step + k), local))
      batch = Batch(observation=data.observation[index], action=data.action[index],
                    reward=data.reward[index], next_observation=data.next_observation[index],
                    terminated=data.terminated[index], target_params=target,
                    weight=jnp.ones(local, jnp.float32))
      train, m = learner.sgd_step(train, batch, loss_fn=loss_fn, optimizer=optimizer)
      target = optax.incremental_update(train.params, target, config.target_update)
      return (train, target), m

    conv = networks.resolve_ppo_torso(config.torso, data.observation.shape[1:]) != "mlp"
    (train, target), metrics = learner.scan_or_unroll(
        sgd, (train, target), jnp.arange(config.steps_per_call), unroll=conv)
    return train, target, metrics

  def body(state: RunState, data: Data):
    keys = jax.vmap(jax.random.wrap_key_data)(state.key)
    run = lambda t, g, k: one_seed(t, g, k, state.step, data)
    if config.num_seeds == 1:
      train, target, metrics = jax.tree.map(lambda x: x[None], run(
          *jax.tree.map(lambda x: x[0], (state.train, state.target, keys))))
    else:
      train, target, metrics = jax.vmap(run)(state.train, state.target, keys)
    metrics = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), metrics)  # [steps, S]
    return RunState(train=train, target=target, key=state.key,
                    step=state.step + config.steps_per_call), metrics

  return body


class Offline(trainer_lib.ShardedTrainer):
  """Offline RL trainer (`zerogo.trainer.Trainer`): `steps_per_call` SGD
  steps of every seed per `step`."""

  algorithm = "offline"
  update_name = "step"

  def __init__(self, config: OfflineConfig, mesh=None):
    self.bind(config, mesh, validate, config.num_steps)
    self.updates_per_step = config.steps_per_call
    self.env = make_env(config)
    self.network = ppo.make_network(config, self.env)
    self.optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                                 optax.adam(config.learning_rate))
    self.transitions = offline_data.read_transitions(config.dataset)
    obs_shape = self.transitions.observation.shape[1:]
    if tuple(obs_shape) != tuple(self.env.observation_shape):
      raise ValueError(f"--dataset={config.dataset} holds observations of shape "
                       f"{tuple(obs_shape)}, not {config.env_id}'s "
                       f"{self.env.observation_shape}; use the env it was logged on")
    t = self.transitions
    data = Data(observation=t.observation, action=t.action, reward=t.reward,
                next_observation=t.next_observation,
                terminated=t.terminated.astype("float32"))
    placed = sharding.to_global(data, jax.sharding.NamedSharding(self.mesh,
                                                                 sharding.REPLICATED))
    R = sharding.REPLICATED
    self.state_specs = RunState(train=R, target=R, key=R, step=R)
    self.step = trainer_lib.CompiledStep(make_step_fn(config, self.network, self.optimizer),
                                         self.mesh, self.state_specs, name="offline",
                                         data=placed)

  def initial_state(self, key: jax.Array | None) -> RunState:
    key = jax.random.PRNGKey(self.config.seed) if key is None else key

    def one_seed(s):
      param_key, run_key = jax.random.split(jax.random.fold_in(key, s))
      params = networks.init_params(self.network, self.env.observation_shape, param_key)
      return (learner.init_train_state(params, self.optimizer), params,
              jax.random.key_data(run_key))

    seeds = [one_seed(s) for s in range(self.config.num_seeds)]
    train, target, keys = jax.tree.map(lambda *xs: jnp.stack(xs), *seeds)
    return RunState(train=train, target=target, key=keys, step=jnp.int32(0))

  def updates_done(self, state: RunState) -> int:
    return int(jax.device_get(state.step))

  def params(self, state: RunState):
    """Every seed's params: leading axis [num_seeds] (PPO's layout)."""
    return state.train.params

  def summarise(self, chunks, updates_done: int) -> dict[str, float]:
    stacked = trainer_lib.concatenate(chunks)                # [U, S]
    out = {k: float(v.mean()) for k, v in stacked.items()}
    out["dataset_return"] = float(self.transitions.episode_returns.mean())
    return out

  def evaluator(self, *, games: int, uct_simulations: int) -> evaluation.Evaluator:
    agent = players.policy_agent(self.env, self.network, None, name="offline")
    return evaluation.Evaluator(agent, seed=self.config.seed, games=games,
                                uct_simulations=uct_simulations,
                                stacked_seeds=self.config.num_seeds)


def make_train(config: OfflineConfig, mesh=None):
  """`train(key=None) -> (RunState, metrics [num_steps, num_seeds])`."""
  return trainer_lib.make_train(Offline(config, mesh))


def agent_from_checkpoint(meta: dict, directory: str, step: int, *,
                          num_simulations: int | None, seed_index: int) -> Agent:
  """The greedy policy of seed `seed_index` (load_agent): PPO's network."""
  return ppo.agent_from_checkpoint(
      meta, directory, step, num_simulations=num_simulations, seed_index=seed_index,
      name=None, config_class=OfflineConfig, kind="an offline-RL policy")
