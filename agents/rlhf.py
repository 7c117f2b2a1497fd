"""Rewards learned from rankings: PPO against a reward model fitted to a
rater's rankings of clips (Christiano et al. 2017; InstructGPT's recipe,
with the KL penalty toward the starting policy).

One update (one `step`):
  host    the rater ranks the queries the previous update chose (the only
          host-side part: a person, a synthetic rater, an agent's values);
  device  (one compiled program) the rankings join the label buffer; the
          reward-model ensemble takes `reward_steps` SGD steps on all
          labels so far; PPO collects a rollout, whose env reward is
          replaced by the ensemble's mean reward (scaled to unit RMS) minus
          kl_coef x log(pi / pi_start), and takes PPO's updates on it (PPO's
          own rollout and learning code, `agents.ppo`); clips cut from the
          rollout form candidate queries, and the ones the ensemble
          disagrees on most (or random ones) wait for the rater.

Update 0 has no labels yet (no queries were chosen before it), so its PPO
step learns from the untrained ensemble (one update of noise). Labels
follow a front-loaded budget (`preferences.label_schedule`). The run state
holds the policy, the ensemble, their optimiser states, the labels so far
(fixed-size arrays: clips and rankings) and the pending queries, so a
resumed run continues bit for bit; the env reward reaches only the
synthetic rater and the metrics (`episode_return`, the true return, next
to `learned_return`).
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

import envs
from agents import ppo, raters
from agents import preferences as prefs
from agents.configs import RLHFConfig
from zerogo import learner, sharding
from zerogo import trainer as trainer_lib
from zerogo.agent import Agent

CARTPOLE_X_LIMIT = 2.4  # gymnax CartPole ends the episode beyond |x| = 2.4


def validate(config: RLHFConfig, num_devices: int) -> None:
  """One sentence naming the fix; no JAX work."""
  ppo.validate(config, num_devices)
  if ppo.make_env(config).num_players != 1:
    raise ValueError(f"RLHF here is for one-player envs (CartPole-v1, MinAtar); "
                     f"{config.env_id} has two players")
  if config.num_seeds != 1:
    raise ValueError("--num_seeds: an RLHF run trains one seed (its rater answers one "
                     "run's queries); start one run per seed with --seed")
  if config.clip_length > config.num_steps:
    raise ValueError(f"--clip_length={config.clip_length} must be at most --num_steps="
                     f"{config.num_steps} (a clip is cut from one rollout)")
  if config.rater_objective == "centre" and config.env_id != "CartPole-v1":
    raise ValueError("--rater_objective=centre is for CartPole-v1 (the cart's position)")
  if (config.rater == "ai") != bool(config.rater_checkpoint):
    raise ValueError("--rater=ai needs --rater_checkpoint (a ppo run), and "
                     "--rater_checkpoint is only for --rater=ai")
  if config.heldout_every == 1:
    raise ValueError("--heldout_every=1 would hold out every label; use 0 (none) or 2+")
  sharding.check_divisible("reward_batch_size", config.reward_batch_size, num_devices)
  if config.rater == "ai":
    raters.AIRater.from_checkpoint(config.rater_checkpoint, config.env_id)


def label_schedule(config: RLHFConfig) -> np.ndarray:
  """Labels asked for after each update (the queries it chose)."""
  label_updates = max(1, min(round(config.label_fraction * config.num_updates),
                             config.num_updates))
  return prefs.label_schedule(config.total_labels, label_updates)


def label_observation_dtype(env_id: str):
  """How the label buffer stores clip observations. MinAtar's channels are 0
  or 1, so bool holds them exactly in a quarter of float32's bytes: 5,000
  Breakout labels of 2 clips x 25 steps x 10 x 10 x 4 take 100 MB of run
  state instead of 400 MB (orbax writes them compressed: 13 MB a checkpoint
  in a Breakout probe). The reward model casts to float32. MinAtar ids, not
  `minatar.GAMES`, which also holds CartPole (float observations)."""
  return jnp.bool_ if env_id.startswith("minatar-") else jnp.float32


def make_rater(config: RLHFConfig, labels_path: str | None = None):
  """The rater `config.rater` names; a person's answers go to `labels_path`."""
  if config.rater == "synthetic":
    return raters.SyntheticRater(seed=config.seed, temperature=config.rater_temperature,
                                 mistake_rate=config.rater_mistake_rate)
  if config.rater == "ai":
    return raters.AIRater.from_checkpoint(config.rater_checkpoint, config.env_id)
  if not labels_path:
    raise ValueError("--rater=human needs a labels file (the launcher uses "
                     "<workdir>/labels.jsonl)")
  return raters.HumanRater(config.env_id, labels_path)


@chex.dataclass(frozen=True)
class RLHFState:
  """ppo: PPO's run state (seed axis of 1); reward: the ensemble's
  TrainState (params [M, ...]); reference: the KL anchor's params [1, ...];
  labels: Clips [N, K, ...] and ranking [N, K] of the first label_count
  labels (N = total_labels); pending: Clips [Q, K, ...] the queries waiting
  for the rater, pending_ranking [Q, K] and pending_count [] its answers to
  the first pending_count (set by the host before each step);
  learned_return: [1, E] learned reward of the episodes in progress."""
  ppo: ppo.RunState
  reward: learner.TrainState
  reference: Any
  labels: prefs.Clips
  ranking: chex.Array
  label_count: chex.Array
  pending: prefs.Clips
  pending_ranking: chex.Array
  pending_count: chex.Array
  learned_return: chex.Array


def state_specs() -> RLHFState:
  R = sharding.REPLICATED
  return RLHFState(ppo=ppo.run_state_specs(), reward=R, reference=R, labels=R, ranking=R,
                   label_count=R, pending=R, pending_ranking=R, pending_count=R,
                   learned_return=jax.sharding.PartitionSpec(None, sharding.DATA))


def step_score(config: RLHFConfig, traj: dict) -> jax.Array:
  """[T, E] what the synthetic rater's objective pays for each step."""
  if config.rater_objective == "centre":
    x = traj["observation"][..., 0]
    return traj["reward"] * (1.0 - jnp.minimum(jnp.abs(x) / CARTPOLE_X_LIMIT, 1.0))
  return traj["reward"]


def _episode_sums(reward, done, running):
  """Per-step rewards [T, E] summed into the running episode totals [E]:
  -> (new running totals, totals of the episodes that ended [T, E])."""
  def step(total, x):
    r, d = x
    total = total + r
    return jnp.where(d, 0.0, total), jnp.where(d, total, 0.0)
  return jax.lax.scan(step, running, (reward, done))


def make_update_fn(config: RLHFConfig, env, network, optimizer, model, reward_optimizer,
                   num_queries: int):
  """Per-device body of one update: RLHFState -> (RLHFState, metrics [1])."""
  rollout = ppo.make_rollout_fn(config, env, network)
  learn = ppo.make_learn_fn(config, network, optimizer)
  fit = prefs.make_fit_fn(model, reward_optimizer, loss=config.preference_loss,
                          batch_size=config.reward_batch_size, num_steps=config.reward_steps,
                          heldout_every=config.heldout_every)
  length, k = config.clip_length, config.clips_per_query
  num_candidates = num_queries * config.candidate_factor

  def add_labels(s: RLHFState):
    slots = s.label_count + jnp.arange(num_queries)
    slots = jnp.where(jnp.arange(num_queries) < s.pending_count, slots,
                      s.ranking.shape[0])                  # out of range: dropped
    put = lambda buffer, new: buffer.at[slots].set(new.astype(buffer.dtype), mode="drop")
    return (jax.tree.map(put, s.labels, s.pending), put(s.ranking, s.pending_ranking),
            jnp.minimum(s.label_count + s.pending_count, s.ranking.shape[0]))

  def choose_queries(traj, reward_params, key):
    """Candidate queries from the whole (all-gathered) rollout, the same on
    every device; the best `num_queries` by disagreement (or at random),
    never a clip cut off by the time limit while others remain."""
    fields = dict(observation=traj["observation"], action=traj["action"], done=traj["done"],
                  truncated=traj["done"] & ~traj["terminated"],
                  step_score=step_score(config, traj))
    whole = jax.tree.map(lambda x: jax.lax.all_gather(x, sharding.DATA, axis=1, tiled=True),
                         fields)
    num_envs = whole["action"].shape[1]
    env_key, start_key, pick_key = jax.random.split(key, 3)
    env_index = jax.random.randint(env_key, (num_candidates * k,), 0, num_envs)
    start = jax.random.randint(start_key, (num_candidates * k,), 0,
                               config.num_steps - length + 1)
    clips, cut = prefs.cut_clips(whole, env_index, start, length)
    clips = jax.tree.map(lambda x: x.reshape(num_candidates, k, *x.shape[1:]), clips)
    cut = cut.reshape(num_candidates, k).any(-1)
    spread = prefs.disagreement(prefs.ensemble_clip_returns(model, reward_params, clips))
    priority = (spread if config.query_selection == "disagreement"
                else jax.random.uniform(pick_key, (num_candidates,)))
    _, chosen = jax.lax.top_k(jnp.where(cut, priority - 2.0, priority), num_queries)
    return jax.tree.map(lambda x: x[chosen], clips), spread[chosen].mean()

  def learned_rewards(reward_params, traj):
    members = jax.vmap(lambda p: prefs.step_rewards(model, p, traj["observation"],
                                                    traj["action"]))(reward_params)
    reward = members.mean(0)                                             # [T, E]
    if config.normalise_reward:
      # Scaled, not shifted: an ended episode is an absorbing state of
      # reward 0, so the sign says whether living on is worth it.
      n = jax.lax.psum(jnp.float32(reward.size), sharding.DATA)
      mean_square = jax.lax.psum(jnp.square(reward).sum(), sharding.DATA) / n
      reward = reward / (jnp.sqrt(mean_square) + 1e-8)
    return reward

  def log_probs_of(params, traj):
    obs = traj["observation"]
    logits, _ = network.apply(params, obs.reshape(-1, *obs.shape[2:]))
    logits = logits.reshape(*obs.shape[:2], -1)
    log_probs = jax.nn.log_softmax(envs.mask_illegal(logits, traj["legal_action_mask"]))
    return jnp.take_along_axis(log_probs, traj["action"][..., None], axis=-1)[..., 0]

  def update(s: RLHFState):
    rs = jax.tree.map(lambda x: x[0], s.ppo.replace(update=s.ppo.update[None]))
    reference = jax.tree.map(lambda x: x[0], s.reference)
    key = jax.random.fold_in(jax.random.wrap_key_data(rs.key), rs.update)
    rollout_key, epoch_key, reward_key, query_key = jax.random.split(key, 4)

    labels, ranking, label_count = add_labels(s)
    reward_train, metrics = fit(s.reward, labels, ranking, label_count, reward_key)

    (states, ep_return, ep_length), traj, last_value = rollout(
        rs.train.params, rs.env_state, rs.episode_return, rs.episode_length, rollout_key,
        None)
    learned = learned_rewards(reward_train.params, traj)
    kl = traj["log_prob"] - log_probs_of(reference, traj)
    train, ppo_metrics = learn(rs.train, traj, learned - config.kl_coef * kl + traj["bootstrap"],
                               last_value, epoch_key)
    pending, spread = choose_queries(traj, reward_train.params, query_key)
    running, finished = _episode_sums(learned, traj["done"], s.learned_return[0])

    metrics.update(ppo_metrics)
    metrics.update(ppo.episode_metrics(traj))
    steps = jax.lax.psum(jnp.float32(kl.size), sharding.DATA)
    metrics.update(
        learned_return=sharding.total(finished) / jnp.maximum(metrics["episodes"], 1),
        kl=sharding.total(kl) / steps,
        labels_used=label_count.astype(jnp.float32),
        query_disagreement=spread,
        heldout_accuracy=prefs.heldout_accuracy(model, reward_train.params, labels,
                                                ranking, label_count, config.heldout_every))
    if config.env_id == "CartPole-v1":
      metrics["mean_abs_cart_x"] = sharding.total(jnp.abs(traj["observation"][..., 0])) / steps
    new_ppo = ppo.RunState(train=train, env_state=states, episode_return=ep_return,
                           episode_length=ep_length, pool=rs.pool, pool_count=rs.pool_count,
                           key=rs.key, update=rs.update + 1)
    new_ppo = jax.tree.map(lambda x: x[None], new_ppo)
    new = s.replace(ppo=new_ppo.replace(update=new_ppo.update[0]), reward=reward_train,
                    labels=labels, ranking=ranking, label_count=label_count, pending=pending,
                    pending_ranking=jnp.zeros_like(s.pending_ranking),
                    pending_count=jnp.int32(0), learned_return=running[None])
    return new, jax.tree.map(lambda x: jnp.reshape(x, (1, 1)), metrics)  # [update, seed]

  return update


class RLHF(ppo.PPO):
  """The RLHF trainer (`zerogo.trainer.Trainer`): one update per `step`,
  the rater on the host between updates, the rest one compiled program.

  >>> trainer = RLHF(config)                  # synthetic rater from the config
  >>> state = trainer.init()
  >>> state, metrics = trainer.step(state)    # metrics [1, 1]
  """

  algorithm = "rlhf"

  def __init__(self, config: RLHFConfig, mesh=None, *, rater=None,
               labels_path: str | None = None):
    self.bind(config, mesh, validate, config.num_updates)
    self.progress_per_update = config.steps_per_update
    self.env = ppo.make_env(config)
    self.network = ppo.make_network(config, self.env)
    self.optimizer = ppo.make_optimizer(config)
    self.rater = rater if rater is not None else make_rater(config, labels_path)
    self.schedule = label_schedule(config)
    self.num_queries = int(self.schedule.max(initial=1))
    self.model = prefs.RewardModel(num_actions=self.env.num_actions,
                                   hidden=config.reward_hidden,
                                   num_layers=config.reward_layers)
    self.reward_optimizer = optax.adam(config.reward_learning_rate)
    body = make_update_fn(config, self.env, self.network, self.optimizer, self.model,
                          self.reward_optimizer, self.num_queries)
    self.state_specs = state_specs()
    self.compiled = trainer_lib.CompiledStep(body, self.mesh, self.state_specs,
                                             name="RLHF update")

  def initial_state(self, key: jax.Array | None) -> RLHFState:
    config = self.config

    def make(key):
      rs = ppo.init_run_state(config, self.env, self.network, self.optimizer, key)
      reward_key = jax.random.fold_in(
          jax.random.PRNGKey(config.seed) if key is None else key, 7)
      params = prefs.init_ensemble(self.model, self.env.observation_shape,
                                   config.reward_ensemble, reward_key)
      def clips(n, dtype=jnp.float32):
        return prefs.Clips(
            observation=jnp.zeros((n, config.clips_per_query, config.clip_length,
                                   *self.env.observation_shape), dtype),
            action=jnp.zeros((n, config.clips_per_query, config.clip_length), jnp.int32),
            valid=jnp.zeros((n, config.clips_per_query, config.clip_length), bool),
            score=jnp.zeros((n, config.clips_per_query), jnp.float32))
      ranking = lambda n: jnp.zeros((n, config.clips_per_query), jnp.int32)
      return RLHFState(
          ppo=rs, reward=jax.vmap(lambda p: learner.init_train_state(
              p, self.reward_optimizer))(params),
          reference=rs.train.params,
          labels=clips(config.total_labels, label_observation_dtype(config.env_id)),
          ranking=ranking(config.total_labels), label_count=jnp.int32(0),
          pending=clips(self.num_queries), pending_ranking=ranking(self.num_queries),
          pending_count=jnp.int32(0),
          learned_return=jnp.zeros((1, config.num_envs), jnp.float32))

    return jax.jit(make)(key)

  def init(self, key: jax.Array | None = None) -> RLHFState:
    """The placed state before update 0; with --init_from, its policy starts
    PPO and is the KL penalty's reference."""
    state = self.initial_state(key)
    if self.config.init_from:
      rs = self.started_from_init_from(state.ppo)
      state = state.replace(ppo=rs, reference=rs.train.params)
    return sharding.place_by_field(state, self.state_specs, self.mesh)

  def labels_before(self, update: int) -> int:
    """Labels the rater gives before update `update` (for the queries the
    previous update chose)."""
    return int(self.schedule[update - 1]) if 1 <= update <= len(self.schedule) else 0

  def step(self, state: RLHFState):
    update = self.updates_done(state)
    count = self.labels_before(update)
    ranking = np.zeros((self.num_queries, self.config.clips_per_query), np.int32)
    if count:
      pending = jax.tree.map(lambda x: np.asarray(x)[:count],
                             sharding.local_copy(state.pending))
      ranking[:count] = self.rater.rank(pending, update)
    put = lambda x: sharding.to_global(x, jax.sharding.NamedSharding(
        self.mesh, sharding.REPLICATED))
    state = state.replace(pending_ranking=put(ranking), pending_count=put(np.int32(count)))
    return self.compiled(state)

  def updates_done(self, state: RLHFState) -> int:
    return int(jax.device_get(state.ppo.update))

  def params(self, state: RLHFState):
    """The policy's params: leading axis [1] (PPO's layout)."""
    return state.ppo.train.params

  def summarise(self, chunks, updates_done: int) -> dict[str, float]:
    """PPO's summary (episode_return is the env's true return), the learned
    return weighted by finished episodes, the labels used at the end."""
    stacked = trainer_lib.concatenate(chunks)
    labels = float(stacked["labels_used"][-1].mean())
    learned, episodes = stacked["learned_return"], stacked["episodes"]
    heldout = stacked["heldout_accuracy"]
    out = super().summarise([{k: v for k, v in stacked.items()
                              if k not in ("labels_used", "learned_return",
                                           "heldout_accuracy")}], updates_done)
    if episodes.sum() > 0:
      out["learned_return"] = float((learned * episodes).sum() / episodes.sum())
    if np.isfinite(heldout).any():
      out["heldout_accuracy"] = float(np.nanmean(heldout))
    out["labels_used"] = labels
    return out


def make_train(config: RLHFConfig, mesh=None, **kwargs):
  """`train(key=None) -> (RLHFState, metrics [num_updates, 1])`."""
  return trainer_lib.make_train(RLHF(config, mesh, **kwargs))


def agent_from_checkpoint(meta: dict, directory: str, step: int, *,
                          num_simulations: int | None, seed_index: int) -> Agent:
  """The greedy policy (load_agent): PPO's network, named rlhf@step."""
  return ppo.agent_from_checkpoint(meta, directory, step, num_simulations=num_simulations,
                                   seed_index=seed_index, name="rlhf")
