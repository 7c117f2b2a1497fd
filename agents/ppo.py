"""PPO (Schulman et al. 2017) on single-player games and by self-play on
two-player board games, in the style of PureJaxRL: the whole update -
rollout (`lax.scan` over steps, batched over envs), GAE, epochs of clipped
minibatch updates - is one jitted program.

Layout of a run's state (`RunState`): a leading axis of `num_seeds`
independent agents (vmapped: N seeds train in one compiled program), then
for env-shaped fields the `num_envs` axis, sharded over the mesh axis
"data". Gradients are averaged over devices with the same helper as the
AlphaZero learner (`zerogo.learner.sgd_step`).

Two-player games: the learner is player 0 of every game (pgx draws who moves
first, so it plays both colours); the opponent's moves happen inside the
env step. In the first `self_play_fraction` of the env slots the opponent is
the current policy itself, in the last `random_opponent_fraction` a uniformly
random player (positions a self-play policy never reaches), and in the rest
a snapshot from a pool of past policies (refreshed every `snapshot_every`
updates; one snapshot per update).

Every random draw is keyed by (seed, update, step, *global* env index), so
rollouts do not depend on how many devices share the envs.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
import optax

import envs
from agents import evaluation, loading, players
from agents.configs import PPOConfig
from envs import minatar, symmetry
from envs.wrappers import tree_select
from zerogo import checkpoint, config as config_lib, learner, networks, sharding, targets
from zerogo import trainer as trainer_lib
from zerogo.torsos import GRID_TORSOS
from zerogo.agent import Agent

def make_env(config: PPOConfig):
  if config.env_id in minatar.GAMES:
    return minatar.make(config.env_id, config.sticky_action_prob)
  return envs.make(config.env_id)


def validate_network(config, env) -> None:
  """The network flags' checks (--torso, --shared_torso, --column_*,
  --mirror_symmetry) of a PPO network config on `env`: PPOConfig or any
  config with its network fields (OfflineConfig)."""
  torso = networks.resolve_ppo_torso(config.torso, env.observation_shape)
  if torso in GRID_TORSOS and len(env.observation_shape) != 3:
    raise ValueError(f"--torso={torso} needs grid observations; {config.env_id} has shape "
                     f"{env.observation_shape} (use --torso=mlp)")
  if config.shared_torso and torso == "cnn":
    raise ValueError("--shared_torso is for --torso=mlp or column (the cnn torso always "
                     "shares its dense layer)")
  defaults = type(config)()
  if torso != "column":
    for name in ("column_features", "column_heads"):
      if getattr(config, name) != getattr(defaults, name):
        raise ValueError(f"--{name} is for --torso=column, not --torso={torso}")
  if config.mirror_symmetry and not symmetry.has_mirror(config.env_id):
    raise ValueError(f"--mirror_symmetry: {config.env_id} has no declared left-right mirror "
                     f"(games that do: {', '.join(symmetry.MIRRORS)})")


def validate(config: PPOConfig, num_devices: int) -> None:
  """Raises ValueError with one sentence naming the fix; no JAX work."""
  config_lib.check(config)
  env = make_env(config)  # an unknown env_id raises UnknownEnvError here
  if env.num_players not in (1, 2):
    raise ValueError(f"PPO plays one- or two-player games; {config.env_id!r} has "
                     f"{env.num_players} players")
  validate_network(config, env)
  sharding.check_divisible("num_envs", config.num_envs, num_devices)
  if config.num_steps % config.num_minibatches:
    raise ValueError(
        f"--num_minibatches={config.num_minibatches} must divide --num_steps="
        f"{config.num_steps} (a minibatch is a set of time steps of every env)")
  if config.init_from:
    _, _, meta = loading.init_from_meta(config.init_from, **init_from_spec(config))
    stored = meta.get("config", {}).get("num_seeds", 1)
    if stored not in (1, config.num_seeds):
      raise ValueError(f"--init_from={config.init_from} holds {stored} seeds; start "
                       f"--num_seeds={stored} from it, or any number from a 1-seed run")
  if config.self_play_fraction + config.random_opponent_fraction > 1:
    raise ValueError("--self_play_fraction and --random_opponent_fraction must add up to "
                     f"at most 1, got {config.self_play_fraction} and "
                     f"{config.random_opponent_fraction}")


# The fields that fix the actor-critic's shapes, which --init_from must share.
NETWORK_FIELDS = ("env_id", "torso", "hidden", "num_layers", "activation", "mirror_symmetry",
                  "shared_torso", "column_features", "column_heads")


def init_from_spec(config) -> dict:
  """What `agents.loading.init_from_meta` checks for --init_from (any config
  with the PPO network's fields: PPO's, offline RL's)."""
  return dict(algorithms=("ppo", "offline"),
              network_fields={name: getattr(config, name) for name in NETWORK_FIELDS})


def init_from_stacked(config, network, env, num_seeds: int):
  """--init_from's params with a leading axis of `num_seeds`: a 1-seed
  checkpoint's policy for every seed, or seed i's for seed i."""
  _, _, meta = loading.init_from_meta(config.init_from, **init_from_spec(config))
  stored = meta.get("config", {}).get("num_seeds", 1)
  init = jax.vmap(lambda k: networks.init_params(network, env.observation_shape, k))
  shapes = jax.eval_shape(init, jax.random.split(jax.random.PRNGKey(0), stored))
  params = loading.init_from_params(config.init_from, shapes, **init_from_spec(config))
  if stored != num_seeds:
    params = jax.tree.map(lambda x: jnp.broadcast_to(x[:1], (num_seeds, *x.shape[1:])), params)
  return params


def make_network(config: PPOConfig, env) -> networks.ActorCritic:
  return networks.ActorCritic(
      num_actions=env.num_actions,
      torso=networks.resolve_ppo_torso(config.torso, env.observation_shape),
      hidden=config.hidden, num_layers=config.num_layers, activation=config.activation,
      mirror_env=config.env_id if config.mirror_symmetry else None,
      shared_torso=config.shared_torso, column_features=config.column_features,
      column_heads=config.column_heads)


def make_optimizer(config: PPOConfig) -> optax.GradientTransformation:
  steps = config.num_updates * config.num_epochs * config.num_minibatches
  lr = (optax.linear_schedule(config.learning_rate, 0.0, steps) if config.anneal_lr
        else config.learning_rate)
  return optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                     optax.adam(lr, eps=1e-5))


# ---------------------------------------------------------------------------
# Games as the learner sees them: batched over envs, auto-resetting.

class _SinglePlayer:
  """A one-player env: the learner's action is the whole step."""

  def __init__(self, env, network):
    self.env = env
    self._game = envs.AutoReset(env)

  def init(self, keys, opponents):
    del opponents
    return jax.vmap(self.env.init)(keys)

  def observe(self, states):
    return jax.vmap(self.env.observe)(states)

  def step(self, states, actions, keys, opponents):
    """-> (next states, reward [E], terminated [E], truncated [E], final obs)."""
    del opponents
    next_states, info, stepped = jax.vmap(self._game.step_with_final)(states, actions, keys)
    return (next_states, info.rewards[:, 0], info.terminated, info.truncated,
            self.observe(stepped))


class _VersusOpponent:
  """A two-player game from player 0's side; the opponent's replies (policy
  samples from `opponents = (current params, snapshot params, use_current
  [E], use_random [E])`) are part of the step."""

  LEARNER = 0

  def __init__(self, env, network):
    self.env = env
    self.network = network

  def _opponent_moves(self, states, keys, opponents):
    current, snapshot, use_current, use_random = opponents

    def waiting(s):  # [E]: games where the opponent is to move
      return ~(s.terminated | s.truncated) & (s.current_player != self.LEARNER)

    def reply(carry):
      s, k, reward = carry
      needs = waiting(s)
      k, action_keys, step_keys = _split(k, 3)
      obs = jax.vmap(self.env.observe)(s)
      logits = jnp.where(use_current[:, None], self.network.apply(current, obs)[0],
                         self.network.apply(snapshot, obs)[0])
      logits = jnp.where(use_random[:, None], 0.0, logits)
      actions = jax.vmap(jax.random.categorical)(
          action_keys, envs.mask_illegal(logits, s.legal_action_mask)).astype(jnp.int32)
      moved = jax.vmap(self.env.step)(s, actions, step_keys)
      s = jax.vmap(tree_select)(needs, moved, s)
      reward = reward + jnp.where(needs, moved.rewards[:, self.LEARNER], 0.0)
      return s, k, reward

    zero = jnp.zeros(keys.shape[0], jnp.float32)
    states, _, reward = jax.lax.while_loop(lambda c: waiting(c[0]).any(), reply,
                                           (states, keys, zero))
    return states, reward

  def init(self, keys, opponents):
    init_keys, reply_keys = _split(keys, 2)
    states = jax.vmap(self.env.init)(init_keys)
    return self._opponent_moves(states, reply_keys, opponents)[0]

  def observe(self, states):
    return jax.vmap(self.env.observe, (0, None))(states, self.LEARNER)

  def step(self, states, actions, keys, opponents):
    step_keys, reply_keys, reset_keys = _split(keys, 3)
    stepped = jax.vmap(self.env.step)(states, actions, step_keys)
    own_reward = stepped.rewards[:, self.LEARNER].astype(jnp.float32)
    stepped, replies = self._opponent_moves(stepped, reply_keys, opponents)
    done = stepped.terminated | stepped.truncated
    fresh = self.init(reset_keys, opponents)
    next_states = jax.vmap(tree_select)(done, fresh, stepped)
    return (next_states, own_reward + replies, stepped.terminated, stepped.truncated,
            self.observe(stepped))


def _split(keys, num: int):
  """Keys [E] -> `num` arrays of keys [E]: each env's key split in `num`."""
  return tuple(jnp.swapaxes(jax.vmap(lambda key: jax.random.split(key, num))(keys), 0, 1))


def make_game(env, network):
  return (_VersusOpponent if env.num_players == 2 else _SinglePlayer)(env, network)


# ---------------------------------------------------------------------------
# Run state and the update.

@chex.dataclass(frozen=True)
class RunState:
  """All a run needs to continue bit for bit. Leading axis: seeds [S].

  env_state: [S, E, ...] games in progress (E sharded over devices);
  episode_return, episode_length: [S, E] of the episodes in progress;
  pool: [S, P, ...] past params (P = pool_size for two-player games, else
  1); pool_count: [S] int32
  snapshots taken; key: [S, 2] uint32; update: [] int32 updates done.
  """
  train: learner.TrainState
  env_state: Any
  episode_return: chex.Array
  episode_length: chex.Array
  pool: Any
  pool_count: chex.Array
  key: chex.Array
  update: chex.Array


@chex.dataclass(frozen=True)
class Minibatch:
  observation: chex.Array
  legal_action_mask: chex.Array
  action: chex.Array
  log_prob: chex.Array
  value: chex.Array
  advantage: chex.Array
  target: chex.Array
  weight: chex.Array


def run_state_specs() -> RunState:
  R, E = sharding.REPLICATED, jax.sharding.PartitionSpec(None, sharding.DATA)
  return RunState(train=R, env_state=E, episode_return=E, episode_length=E, pool=R,
                  pool_count=R, key=R, update=R)


def _opponents(params, pool, pool_count, key, num_local, config: PPOConfig):
  """(current, snapshot, use_current[E_local], use_random[E_local])."""
  size = jax.tree.leaves(pool)[0].shape[0]
  pick = jax.random.randint(key, (), 0, jnp.clip(pool_count, 1, size))
  snapshot = jax.tree.map(lambda x: x[pick], pool)
  index = sharding.global_index(num_local)
  total = num_local * jax.lax.psum(1, sharding.DATA)
  use_current = index < jnp.round(config.self_play_fraction * total)
  use_random = index >= total - jnp.round(config.random_opponent_fraction * total)
  return params, snapshot, use_current, use_random


def init_run_state(config: PPOConfig, env, network, optimizer,
                   key: jax.Array | None = None) -> RunState:
  """The state before update 0 (unsharded; place it with `place`). `key`
  replaces PRNGKey(config.seed) as the source of all randomness."""
  game = make_game(env, network)
  key = jax.random.PRNGKey(config.seed) if key is None else key

  def one_seed(s):  # seed s: `key` with s folded in
    param_key, env_key, run_key = jax.random.split(jax.random.fold_in(key, s), 3)
    params = networks.init_params(network, env.observation_shape, param_key)
    # One-player games have no opponents: a pool of one keeps the state small.
    pool_size = config.pool_size if env.num_players == 2 else 1
    pool = jax.tree.map(lambda x: jnp.broadcast_to(x, (pool_size, *x.shape)), params)
    keys = jax.random.split(env_key, config.num_envs)
    # At init every opponent is the initial policy.
    opponents = (params, params, jnp.ones(config.num_envs, bool),
                 jnp.zeros(config.num_envs, bool))
    env_state = game.init(keys, opponents)
    zeros = jnp.zeros(config.num_envs, jnp.float32)
    return RunState(train=learner.init_train_state(params, optimizer), env_state=env_state,
                    episode_return=zeros, episode_length=zeros.astype(jnp.int32),
                    pool=pool, pool_count=jnp.int32(1),
                    key=jax.random.key_data(run_key), update=jnp.int32(0))

  states = [one_seed(s) for s in range(config.num_seeds)]
  stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *states)
  return stacked.replace(update=jnp.int32(0))


def value_error(value, old_value, target, clip_eps: float | None):
  """Half squared error of the value; with `clip_eps`, PPO2's pessimistic
  clipped form: a value that moved more than clip_eps from the rollout's
  `old_value` is scored as if it had stopped there (no gradient beyond)."""
  error = 0.5 * jnp.square(value - target)
  if clip_eps is None:
    return error
  clipped = old_value + jnp.clip(value - old_value, -clip_eps, clip_eps)
  return jnp.maximum(error, 0.5 * jnp.square(clipped - target))


def split_minibatches(data, config: PPOConfig, key: jax.Array, env_keys: jax.Array):
  """Cuts one epoch of a rollout (leaves [T, E, ...]) into minibatches
  [num_minibatches, T / num_minibatches * E, ...].

  Every env contributes the same number of its time steps to each
  minibatch, so the global minibatches (hence the parameters) do not depend
  on how many devices share the envs. "steps": one permutation of the time
  steps, drawn from `key` (the same on every device), for all envs;
  "transitions": each env its own, drawn from its `env_keys` [E] (keyed by
  the env's global index).
  """
  num_envs = env_keys.shape[0]
  per_minibatch = config.num_steps // config.num_minibatches * num_envs
  if config.minibatch_sampling == "steps":
    perm = jax.random.permutation(key, config.num_steps)
    take = lambda x: x[perm]
  else:
    perms = jax.vmap(lambda k: jax.random.permutation(k, config.num_steps), out_axes=1)(
        env_keys)                                                        # [T, E]
    take = lambda x: jnp.take_along_axis(
        x, perms.reshape(perms.shape + (1,) * (x.ndim - 2)), axis=0)
  return jax.tree.map(
      lambda x: take(x).reshape(config.num_minibatches, per_minibatch, *x.shape[2:]), data)


def _policy_value(network, params, obs, mask):
  logits, value = network.apply(params, obs)
  return envs.mask_illegal(logits, mask), value


def make_rollout_fn(config: PPOConfig, env, network):
  """`rollout(params, env_state, episode_return, episode_length, key,
  opponents) -> ((env_state, episode_return, episode_length), traj,
  last_value)`: `num_steps` steps of every local env under the policy.

  traj leaves are [T, E_local, ...]: observation, legal_action_mask,
  action, log_prob, value; reward (the env's, for the learner's move and
  the opponent's reply); bootstrap (gamma x V(final observation) where the
  time limit cut the episode off, else 0: what a learner adds to whatever
  reward it learns from); terminated, done; finished_return and
  finished_length (of the episodes that ended on that step, else 0)."""
  game = make_game(env, network)

  def rollout(params, env_state, episode_return, episode_length, key, opponents):
    num_local = episode_return.shape[0]

    def env_step(carry, t):
      states, ep_return, ep_length = carry
      keys = sharding.global_keys(jax.random.fold_in(key, t), num_local)
      action_keys, step_keys = _split(keys, 2)
      obs = game.observe(states)
      mask = states.legal_action_mask
      logits, value = _policy_value(network, params, obs, mask)
      action = jax.vmap(jax.random.categorical)(action_keys, logits).astype(jnp.int32)
      log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], axis=1)[:, 0]
      states, reward, terminated, truncated, final_obs = game.step(
          states, action, step_keys, opponents)
      # A cut-off episode did not end: bootstrap from its final observation.
      # (Computed only when some env was cut off this step.)
      final_value = jax.lax.cond(
          truncated.any(), lambda: network.apply(params, final_obs)[1],
          lambda: jnp.zeros_like(reward))
      done = terminated | truncated
      ep_return = ep_return + reward
      ep_length = ep_length + 1
      transition = dict(observation=obs, legal_action_mask=mask, action=action,
                        log_prob=log_prob, value=value, reward=reward,
                        bootstrap=config.gamma * jnp.where(truncated, final_value, 0.0),
                        terminated=terminated, done=done,
                        finished_return=jnp.where(done, ep_return, 0.0),
                        finished_length=jnp.where(done, ep_length, 0))
      carry = (states, jnp.where(done, 0.0, ep_return), jnp.where(done, 0, ep_length))
      return carry, transition

    carry, traj = jax.lax.scan(env_step, (env_state, episode_return, episode_length),
                               jnp.arange(config.num_steps))
    states = carry[0]
    _, last_value = _policy_value(network, params, game.observe(states),
                                  states.legal_action_mask)
    return carry, traj, last_value

  return rollout


def make_learn_fn(config: PPOConfig, network, optimizer):
  """`learn(train, traj, reward, last_value, key) -> (train, metrics)`: GAE
  on `reward` [T, E_local] (the env's, or a learned one; bootstrap
  included) and the epochs of clipped minibatch updates on a rollout."""
  # Conv nets on the CPU take their SGD steps unrolled (learner.scan_or_unroll).
  unroll_sgd = network.torso == "cnn" and jax.default_backend() == "cpu"

  def loss_fn(params, mb: Minibatch):
    logits, value = _policy_value(network, params, mb.observation, mb.legal_action_mask)
    log_probs = jax.nn.log_softmax(logits)
    log_prob = jnp.take_along_axis(log_probs, mb.action[:, None], axis=1)[:, 0]
    ratio = jnp.exp(log_prob - mb.log_prob)
    clipped = jnp.clip(ratio, 1 - config.clip_eps, 1 + config.clip_eps)
    policy_loss = -jnp.minimum(ratio * mb.advantage, clipped * mb.advantage)
    value_clip = config.clip_eps if config.clip_value else None
    value_loss = value_error(value, mb.value, mb.target, value_clip)
    probs = jnp.exp(log_probs)
    entropy = -jnp.sum(jnp.where(mb.legal_action_mask, probs * log_probs, 0.0), axis=-1)
    loss = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
    return loss, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy,
                  "approx_kl": (ratio - 1) - (log_prob - mb.log_prob),
                  "clip_fraction": (jnp.abs(ratio - 1) > config.clip_eps).astype(jnp.float32)}

  def normalise(mb: Minibatch) -> Minibatch:
    # Advantage normalisation with statistics over the global minibatch.
    n = jax.lax.psum(jnp.float32(mb.advantage.size), sharding.DATA)
    mean = jax.lax.psum(mb.advantage.sum(), sharding.DATA) / n
    var = jax.lax.psum(jnp.square(mb.advantage - mean).sum(), sharding.DATA) / n
    return mb.replace(advantage=(mb.advantage - mean) / (jnp.sqrt(var) + 1e-8))

  def learn(train, traj, reward, last_value, epoch_key):
    num_local = reward.shape[1]
    advantage = targets.gae(reward, traj["value"], traj["done"], last_value,
                            gamma=config.gamma, gae_lambda=config.gae_lambda)
    data = Minibatch(observation=traj["observation"],
                     legal_action_mask=traj["legal_action_mask"], action=traj["action"],
                     log_prob=traj["log_prob"], value=traj["value"], advantage=advantage,
                     target=advantage + traj["value"],
                     weight=jnp.ones((config.num_steps, num_local), jnp.float32))

    def epoch(train, e):
      key = jax.random.fold_in(epoch_key, e)
      shuffled = split_minibatches(data, config, key, sharding.global_keys(key, num_local))

      def minibatch(train, mb):
        return learner.sgd_step(train, normalise(mb), loss_fn=loss_fn, optimizer=optimizer)

      return learner.scan_or_unroll(minibatch, train, shuffled, unroll=unroll_sgd)

    train, sgd_metrics = learner.scan_or_unroll(epoch, train, jnp.arange(config.num_epochs),
                                                unroll=unroll_sgd)
    return train, {k: v.mean() for k, v in sgd_metrics.items()}

  return learn


def episode_metrics(traj) -> dict:
  """Episodes that ended in a rollout, over all devices: their count, mean
  return and mean length (0 where none ended)."""
  total = sharding.total
  finished = total(traj["done"].astype(jnp.float32))
  return dict(
      episodes=finished,
      episode_return=total(traj["finished_return"]) / jnp.maximum(finished, 1),
      episode_length=total(traj["finished_length"].astype(jnp.float32))
      / jnp.maximum(finished, 1))


def make_update_fn(config: PPOConfig, env, network, optimizer):
  """Per-device, per-seed body of one update: RunState -> (RunState, metrics)."""
  two_player = env.num_players == 2
  rollout = make_rollout_fn(config, env, network)
  learn = make_learn_fn(config, network, optimizer)

  def update(rs: RunState):
    params = rs.train.params
    num_local = rs.episode_return.shape[0]
    key = jax.random.fold_in(jax.random.wrap_key_data(rs.key), rs.update)
    rollout_key, epoch_key, pool_key = jax.random.split(key, 3)
    opponents = (_opponents(params, rs.pool, rs.pool_count, pool_key, num_local,
                            config) if two_player else None)
    (states, ep_return, ep_length), traj, last_value = rollout(
        params, rs.env_state, rs.episode_return, rs.episode_length, rollout_key, opponents)
    train, metrics = learn(rs.train, traj, traj["reward"] + traj["bootstrap"], last_value,
                           epoch_key)

    update_index = rs.update + 1
    pool, pool_count = rs.pool, rs.pool_count
    if two_player:
      take = update_index % config.snapshot_every == 0
      slot = pool_count % config.pool_size
      pool = jax.tree.map(
          lambda p, x: jnp.where(take, p.at[slot].set(x), p), pool, train.params)
      pool_count = pool_count + take.astype(jnp.int32)

    metrics.update(episode_metrics(traj))
    new = RunState(train=train, env_state=states, episode_return=ep_return,
                   episode_length=ep_length, pool=pool, pool_count=pool_count, key=rs.key,
                   update=update_index)
    return new, metrics

  return update


class PPO(trainer_lib.ShardedTrainer):
  """The PPO trainer (`zerogo.trainer.Trainer`): `updates_per_step` updates
  of every seed per `step`, one compiled, data-parallel, seed-vmapped program.

  >>> ppo = PPO(config)
  >>> state = ppo.init()
  >>> state, metrics = ppo.step(state)   # metrics [updates_per_step, num_seeds]
  """

  algorithm = "ppo"
  update_name = "update"

  def __init__(self, config: PPOConfig, mesh=None, updates_per_step: int = 1):
    self.bind(config, mesh, validate, config.num_updates)
    if updates_per_step < 1:
      raise ValueError(f"--updates_per_call must be at least 1, got {updates_per_step}")
    self.progress_per_update = config.steps_per_update
    self.env = make_env(config)
    self.network = make_network(config, self.env)
    self.optimizer = make_optimizer(config)
    self.updates_per_step = updates_per_step
    body = make_update_fn(config, self.env, self.network, self.optimizer)

    # Seeds are vmapped; the update counter is shared by all of them.
    if config.num_seeds == 1:
      # No vmap for one seed: XLA:CPU runs a batched matmul with a batch of
      # one slower than the plain one.
      def per_seed(rs):
        new, metrics = jax.tree.map(lambda x: x[None], body(jax.tree.map(
            lambda x: x[0], rs.replace(update=rs.update[None]))))
        return new.replace(update=new.update[0]), metrics
    else:
      axes = RunState(train=0, env_state=0, episode_return=0, episode_length=0, pool=0,
                      pool_count=0, key=0, update=None)
      per_seed = jax.vmap(body, in_axes=(axes,), out_axes=(axes, 0))

    # Straight-line code where a loop would slow convolution gradients (see
    # make_update_fn) and for a single update (a scan of length 1 is still a loop).
    unroll = updates_per_step == 1 or (self.network.torso == "cnn"
                                       and jax.default_backend() == "cpu")

    def per_device(rs: RunState):
      return learner.scan_or_unroll(lambda rs, _: per_seed(rs), rs,
                                    jnp.arange(updates_per_step), unroll=unroll)

    self.state_specs = run_state_specs()
    self.step = trainer_lib.CompiledStep(per_device, self.mesh, self.state_specs,
                                         name="PPO update")

  def initial_state(self, key: jax.Array | None) -> RunState:
    return jax.jit(lambda k: init_run_state(self.config, self.env, self.network,
                                            self.optimizer, k))(key)

  def init(self, key: jax.Array | None = None) -> RunState:
    """The placed state before update 0; with --init_from, its policy (and
    a fresh optimizer) replace every seed's random one, in the opponent
    pool too."""
    if not self.config.init_from:
      return super().init(key)
    state = self.started_from_init_from(self.initial_state(key))
    return sharding.place_by_field(state, self.state_specs, self.mesh)

  def started_from_init_from(self, state: RunState) -> RunState:
    """`state` with --init_from's policy (and a fresh optimizer) for every
    seed, in the opponent pool too."""
    params = init_from_stacked(self.config, self.network, self.env, self.config.num_seeds)
    train = jax.vmap(lambda p: learner.init_train_state(p, self.optimizer))(params)
    pool_size = jax.tree.leaves(state.pool)[0].shape[1]
    pool = jax.tree.map(lambda x: jnp.repeat(x[:, None], pool_size, axis=1), params)
    return state.replace(train=train, pool=pool)

  def updates_done(self, state: RunState) -> int:
    return int(jax.device_get(state.update))

  def params(self, state: RunState):
    """Params of every seed: leading axis [num_seeds]."""
    return state.train.params

  def summarise(self, chunks, updates_done: int) -> dict[str, float]:
    """Losses averaged over updates and seeds; episode return and length
    weighted by finished episodes (absent when some seed finished none);
    per-seed values as `name/seed_i` when there are several seeds."""
    stacked = trainer_lib.concatenate(chunks)                 # leaves [U, S]
    episodes = stacked.pop("episodes")
    ret, length = stacked.pop("episode_return"), stacked.pop("episode_length")
    out = {k: float(v.mean()) for k, v in stacked.items()}
    finished = episodes.sum(0)                                 # [S]
    if (finished > 0).all():
      out.update(evaluation.with_seeds({
          "episode_return": list((ret * episodes).sum(0) / finished),
          "episode_length": list((length * episodes).sum(0) / finished)}))
    out["episodes"] = float(finished.sum())
    out["env_steps"] = float(updates_done * self.config.steps_per_update)
    return out

  def evaluator(self, *, games: int, uct_simulations: int) -> evaluation.Evaluator:
    agent = players.policy_agent(self.env, self.network, None, name="ppo")
    return evaluation.Evaluator(agent, seed=self.config.seed, games=games,
                                uct_simulations=uct_simulations,
                                stacked_seeds=self.config.num_seeds)


def make_train(config: PPOConfig, mesh=None, updates_per_step: int = 1):
  """`train(key=None) -> (RunState, metrics [num_updates, num_seeds])`: the
  whole run in one call, without checkpoints or logging (tests, sweeps).
  `key` replaces PRNGKey(config.seed). Compiled once per `make_train`."""
  return trainer_lib.make_train(PPO(config, mesh, updates_per_step))


def agent_from_checkpoint(meta: dict, directory: str, step: int, *,
                          num_simulations: int | None, seed_index: int,
                          name: str | None = "ppo", config_class=PPOConfig,
                          kind: str | None = None) -> Agent:
  """The greedy policy of seed `seed_index` in checkpoint `directory/step`
  (a PPO run's, or any whose `config_class` holds PPO's network fields:
  `name` says which algorithm trained it, None: the config's `algorithm`
  field; `kind` what the policy is, for the @SIMS error)."""
  config = config_lib.from_dict(config_class, meta["config"])
  name = config.algorithm if name is None else name
  if num_simulations:
    raise ValueError(f"checkpoint {directory}/{step} is {kind or f'a {name.upper()} policy'}, "
                     "which does not search; drop the @SIMS budget")
  if not 0 <= seed_index < config.num_seeds:
    raise ValueError(f"checkpoint {directory}/{step} holds seeds 0..{config.num_seeds - 1}, "
                     f"not seed {seed_index}")
  env = make_env(config)
  network = make_network(config, env)
  # Saved params carry a leading axis of seeds (--num_seeds).
  init = jax.vmap(lambda k: networks.init_params(network, env.observation_shape, k))
  stacked = jax.eval_shape(init, jax.random.split(jax.random.PRNGKey(0), config.num_seeds))
  params = jax.tree.map(lambda x: x[seed_index],
                        checkpoint.restore_params_locally(directory, step, stacked))
  suffix = f"/seed_{seed_index}" if config.num_seeds > 1 else ""
  return players.policy_agent(env, network, params, name=f"{name}@{step}{suffix}")
