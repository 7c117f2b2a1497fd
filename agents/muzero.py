"""MuZero (Schrittwieser et al. 2020): search with a learned model.

One iteration is one compiled program per device under `shard_map`, like
AlphaZero's (Anakin style): every env slot acts `unroll_length` steps with
a search in the learned model (`agents.muzero_search`), the steps go into
the slot's ring of trajectory rows (`zerogo.segments`), then
`sgd_steps_per_iteration` SGD steps train on sampled segments
(`agents.muzero_learning`):

- the representation of the segment's first observation is unrolled K
  steps through the dynamics with the actions taken; each step predicts
  the policy (target: the stored search policy, or a fresh search with
  --reanalyse_fraction), the value (target: n-step return bootstrapped from
  the target network's value of the observation n steps on) and, after the
  first, the reward (target: the env's reward);
- values and rewards are categorical over the support of h(x); the loss of
  steps k >= 1 is scaled by 1/K and the gradient into the dynamics by 0.5 at
  every step, as in the paper;
- a segment crossing an episode end is absorbing after it: value and
  reward targets 0, no policy loss; an episode cut off by a time limit
  bootstraps its value targets from the value of its final observation.

One-player games (CartPole, MinAtar) take their rewards from the env and
discount by gamma; two-player board games see every reward from the
mover's side and discount by -gamma, and the model learns the opponent's
turns too. Every random draw is keyed by (iteration, step, *global* slot
index), so a run's numbers do not depend on the device count.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
import optax

import envs
from agents import evaluation, muzero_learning, muzero_search
from agents.configs import MuZeroConfig
from envs import minatar
from zerogo import checkpoint, learner, networks, segments, sharding
from zerogo import config as config_lib
from zerogo import trainer as trainer_lib
from zerogo.agent import Agent


def make_env(config: MuZeroConfig):
  if config.env_id in minatar.GAMES:
    return minatar.make(config.env_id, config.sticky_action_prob)
  return envs.make(config.env_id)


def validate(config: MuZeroConfig, num_devices: int) -> None:
  """Raises ValueError with one sentence naming the fix; does no JAX work."""
  config_lib.check(config)
  if config.sticky_action_prob is not None and config.env_id not in minatar.GAMES:
    raise ValueError(f"--sticky_action_prob is for the MinAtar games and CartPole, not "
                     f"{config.env_id}")
  env = make_env(config)  # an unknown env_id raises UnknownEnvError here
  if env.num_players != 1 and not env.is_perfect_information_two_player:
    raise ValueError(f"MuZero here plays one-player games and deterministic two-player "
                     f"board games; {config.env_id!r} is neither (try connect_four)")
  if config.torso == "conv" and len(env.observation_shape) != 3:
    raise ValueError(f"--torso=conv needs grid observations; {config.env_id} has shape "
                     f"{env.observation_shape} (use --torso=mlp)")
  sharding.check_divisible("num_envs", config.num_envs, num_devices)
  if config.train_batch_size % config.num_envs:
    raise ValueError(f"--train_batch_size={config.train_batch_size} must be a multiple of "
                     f"--num_envs={config.num_envs} (every env slot contributes the same "
                     f"number of segments to a batch)")
  if config.replay_rows < 2 * config.segment_length:
    raise ValueError(f"--replay_rows={config.replay_rows} must be at least "
                     f"{2 * config.segment_length}, twice the rows of one training segment "
                     f"(--num_unroll_steps + --td_steps + 1 = {config.segment_length})")
  if config.reanalyse_fraction > 0 and config.reanalysed_per_slot == 0:
    raise ValueError(f"--reanalyse_fraction={config.reanalyse_fraction} reanalyses no "
                     f"segment of the {config.samples_per_slot} each env slot gives a "
                     f"batch; raise it to at least {1 / config.samples_per_slot:.3g}")


@chex.dataclass(frozen=True)
class ActorState:
  """Per-slot acting state, sharded on the leading axis B: env states,
  running episode return and length [B], the slot's replay ring [B, T, ...]."""
  env_state: Any
  episode_return: chex.Array
  episode_length: chex.Array
  replay: segments.SegmentReplay


@chex.dataclass(frozen=True)
class RunState:
  """All a run needs to continue bit for bit (what a checkpoint holds)."""
  train: learner.TrainState
  target_params: Any     # bootstraps value targets; a copy every target_update_every steps
  actor: ActorState
  key: chex.Array        # base key; iteration keys fold in the iteration
  iteration: chex.Array  # [] int32 iterations completed


def make_network(config: MuZeroConfig, env) -> networks.MuZeroNet:
  return networks.MuZeroNet(num_actions=env.num_actions, latent_size=config.latent_size,
                            num_blocks=config.num_blocks, support_size=config.support_size,
                            torso=config.torso, num_channels=config.num_channels)


def init_params(network, env, key):
  return network.init(key, jnp.zeros((1, *env.observation_shape), jnp.float32))


def make_optimizer(config: MuZeroConfig) -> optax.GradientTransformation:
  return learner.make_optimizer(
      learning_rate=config.learning_rate, weight_decay=config.weight_decay,
      warmup_steps=config.warmup_steps, total_steps=config.total_sgd_steps)


def init_run_state(config: MuZeroConfig, env, network, optimizer,
                   key: jax.Array | None = None) -> RunState:
  """The state before iteration 0 (unsharded). `key` replaces
  PRNGKey(config.seed) as the source of all randomness."""
  key = jax.random.key_data(jax.random.PRNGKey(config.seed) if key is None else key)
  param_key, env_key = jax.random.split(jax.random.wrap_key_data(key))
  params = init_params(network, env, param_key)
  slots = config.num_envs
  env_state = jax.vmap(env.init)(jax.random.split(env_key, slots))
  buffer = segments.init(slots, config.replay_rows, env.observation_shape,
                         env_state.observation.dtype, env.num_actions)
  actor = ActorState(env_state=env_state, episode_return=jnp.zeros(slots, jnp.float32),
                     episode_length=jnp.zeros(slots, jnp.int32), replay=buffer)
  return RunState(train=learner.init_train_state(params, optimizer), target_params=params,
                  actor=actor, key=key, iteration=jnp.int32(0))


def run_state_specs() -> RunState:
  R = sharding.REPLICATED
  return RunState(train=R, target_params=R, actor=sharding.SHARDED, key=R, iteration=R)


def make_iteration_fn(config: MuZeroConfig, env, network, optimizer):
  """The per-device body of one iteration: (RunState) -> (RunState, metrics)."""
  game = envs.AutoReset(env)
  search = muzero_search.from_config(config, env, network)
  batch_fn = muzero_learning.make_batch_fn(config, env, network)
  loss_fn = muzero_learning.make_loss_fn(config, network)
  two_player = env.num_players == 2
  initial = muzero_search.make_initial_inference(network)
  discount = muzero_search.model_discount(config.gamma, env.num_players)
  unroll_sgd = config.torso == "conv" and jax.default_backend() == "cpu"

  def act(params, actor: ActorState, key):
    states = actor.env_state
    num_local = actor.episode_length.shape[0]
    keys = jax.vmap(jax.random.split)(sharding.global_keys(key, num_local))
    observation = jax.vmap(env.observe)(states)
    out = search(params, keys[:, 0], observation, states.legal_action_mask,
                 jnp.ones(num_local, bool))
    mover = states.current_player
    states, info, stepped = jax.vmap(game.step_with_final)(states, out.action, keys[:, 1])
    reward = jnp.take_along_axis(info.rewards, mover[:, None], axis=1)[:, 0]
    # A time limit is not an end: value targets bootstrap through it.
    cut_off = info.truncated & ~info.terminated
    final_value = initial(params, jax.vmap(env.observe)(stepped))[2]
    value_reward = reward + jnp.where(cut_off, discount * final_value, 0.0)
    buffer = segments.add(actor.replay, observation=observation, action=out.action,
                          reward=reward, value_reward=value_reward, done=info.done,
                          policy=out.policy, legal=actor.env_state.legal_action_mask)
    ep_return = actor.episode_return + reward
    ep_length = actor.episode_length + 1
    done = info.done
    stats = {"episodes": done.sum(),
             "finished_return": jnp.where(done, ep_return, 0.0).sum(),
             "finished_length": jnp.where(done, ep_length, 0).sum(),
             "draws": (done & (jnp.abs(info.rewards).sum(-1) == 0)).sum(),
             "root_value": out.root_value.sum(), "search_value": out.search_value.sum()}
    actor = ActorState(env_state=states, episode_return=jnp.where(done, 0.0, ep_return),
                       episode_length=jnp.where(done, 0, ep_length), replay=buffer)
    return actor, stats

  def iteration(state: RunState):
    key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.iteration)
    play_key, sgd_key = jax.random.split(key)
    params = state.train.params
    actor, step_stats = jax.lax.scan(
        lambda a, t: act(params, a, jax.random.fold_in(play_key, t)), state.actor,
        jnp.arange(config.unroll_length))
    num_local = actor.episode_length.shape[0]

    def sgd(carry, k):
      train, target = carry
      slot_keys = sharding.global_keys(jax.random.fold_in(sgd_key, k), num_local)
      batch = batch_fn(train.params, target, actor.replay, slot_keys)
      train, metrics = learner.sgd_step(train, batch, loss_fn=loss_fn, optimizer=optimizer)
      refresh = train.step % config.target_update_every == 0
      target = jax.tree.map(lambda p, t: jnp.where(refresh, p, t), train.params, target)
      return (train, target), metrics

    (train, target), sgd_metrics = learner.scan_or_unroll(
        sgd, (state.train, state.target_params), jnp.arange(config.sgd_steps_per_iteration),
        unroll=unroll_sgd)
    total = sharding.total
    episodes = total(step_stats["episodes"])
    per_episode = lambda x: total(x) / jnp.maximum(episodes, 1)
    steps = config.unroll_length * config.num_envs
    metrics = {k: v.mean() for k, v in sgd_metrics.items()}
    metrics.update(
        episodes=episodes,
        episode_return=per_episode(step_stats["finished_return"]),
        episode_length=per_episode(step_stats["finished_length"].astype(jnp.float32)),
        root_value=total(step_stats["root_value"]) / steps,
        search_value=total(step_stats["search_value"]) / steps,
        replay_fill=jax.lax.pmean(segments.fill_fraction(actor.replay), sharding.DATA))
    if two_player:  # a game's summed mover rewards say only whether it was drawn
      metrics["draw_rate"] = per_episode(step_stats["draws"])
      del metrics["episode_return"]
    new_state = RunState(train=train, target_params=target, actor=actor, key=state.key,
                         iteration=state.iteration + 1)
    return new_state, metrics

  return iteration


class MuZero(trainer_lib.ShardedTrainer):
  """The MuZero trainer (`zerogo.trainer.Trainer`): one compiled,
  data-parallel iteration (act, store, learn) per `step`.

  >>> mz = MuZero(config)
  >>> state = mz.init()
  >>> state, metrics = mz.step(state)   # one iteration, all devices
  """

  algorithm = "muzero"

  def __init__(self, config: MuZeroConfig, mesh=None):
    self.bind(config, mesh, validate, config.num_iterations)
    self.progress_per_update = config.steps_per_iteration
    self.env = make_env(config)
    self.network = make_network(config, self.env)
    self.optimizer = make_optimizer(config)
    body = make_iteration_fn(config, self.env, self.network, self.optimizer)
    self.state_specs = run_state_specs()
    self.step = trainer_lib.CompiledStep(trainer_lib.one_update(body), self.mesh,
                                         self.state_specs,
                                         name="MuZero iteration")

  def initial_state(self, key: jax.Array | None) -> RunState:
    return jax.jit(lambda k: init_run_state(self.config, self.env, self.network,
                                            self.optimizer, k))(key)

  def updates_done(self, state: RunState) -> int:
    return int(jax.device_get(state.iteration))

  def params(self, state: RunState):
    return state.train.params

  def summarise(self, chunks, updates_done: int) -> dict[str, float]:
    """Losses averaged over iterations; episode return and length weighted
    by the episodes that finished (absent when none did)."""
    stacked = trainer_lib.concatenate(chunks)
    episodes = stacked.pop("episodes")
    per_episode = {k: stacked.pop(k) for k in ("episode_return", "episode_length",
                                               "draw_rate") if k in stacked}
    out = {k: float(v.mean()) for k, v in stacked.items()}
    if episodes.sum() > 0:
      out.update({k: float((v * episodes).sum() / episodes.sum())
                  for k, v in per_episode.items()})
    out["episodes"] = float(episodes.sum())
    out["env_steps"] = float(updates_done * self.config.steps_per_iteration)
    return out

  def evaluator(self, *, games: int, uct_simulations: int) -> evaluation.Evaluator:
    return evaluation.Evaluator(search_player(self.config, self.env, self.network, None),
                                seed=self.config.seed, games=games,
                                uct_simulations=uct_simulations)


def make_train(config: MuZeroConfig, mesh=None):
  """`train(key=None) -> (RunState, metrics [num_iterations])` in memory."""
  return trainer_lib.make_train(MuZero(config, mesh))


def search_player(config: MuZeroConfig, env, network, params, *,
                  num_simulations: int | None = None, name: str = "muzero") -> Agent:
  """The greedy (noise-free) player searching the learned model with
  `params` (None: set them later); `num_simulations=0` plays the policy."""
  sims = config.num_simulations if num_simulations is None else num_simulations
  search = muzero_search.from_config(config, env, network, num_simulations=sims)
  initial = muzero_search.make_initial_inference(network)

  def apply(params, states, key):
    batch = states.current_player.shape[0]
    out = search(params, jax.random.split(key, batch), jax.vmap(env.observe)(states),
                 states.legal_action_mask, jnp.zeros(batch, bool))
    return out.action

  def value(params, states):
    v = initial(params, jax.vmap(env.observe)(states))[2]
    return jnp.clip(v, -1.0, 1.0) if env.num_players == 2 else v

  return Agent(name=name, env_id=env.id, env=env, apply=apply, params=params,
               num_simulations=sims, value=value)


def agent_from_checkpoint(meta: dict, directory: str, step: int, *,
                          num_simulations: int | None, seed_index: int) -> Agent:
  """The search player saved in checkpoint `directory/step` (load_agent)."""
  if seed_index != 0:
    raise ValueError(f"checkpoint {directory}/{step} holds one muzero agent; "
                     f"there is no seed {seed_index}")
  if num_simulations is not None and num_simulations < 0:
    raise ValueError(f"num_simulations must be >= 0, got {num_simulations}")
  config = config_lib.from_dict(MuZeroConfig, meta["config"])
  env = make_env(config)
  network = make_network(config, env)
  params = checkpoint.restore_params_locally(directory, step, jax.eval_shape(
      lambda: init_params(network, env, jax.random.PRNGKey(0))))
  return search_player(config, env, network, params, num_simulations=num_simulations,
                       name=f"muzero@{step}")
