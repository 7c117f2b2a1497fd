"""Preferences over clips, and the reward model learned from them.

A clip is `L` consecutive steps of one env from a rollout; it stops where
its episode ends (later steps are not `valid`: an ended episode is an
absorbing state of reward 0). A query is K clips; its label is a ranking,
the K clip positions best first. The reward model is an ensemble of MLPs
over (observation, one-hot action) whose clip return is the sum over the
clip's valid steps, trained by Bradley-Terry on every pair a ranking
implies (K choose 2, as InstructGPT) or by the Plackett-Luce likelihood of
the whole ranking. The members' disagreement about a query (the standard
deviation of their preference probabilities) picks informative queries.

Everything here is pure JAX and runs on device; the raters (host side) are
in `agents.raters`.
"""

from __future__ import annotations

import itertools

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from zerogo import learner, sharding


@chex.dataclass(frozen=True)
class Clips:
  """observation: [..., L, *obs_shape] float32; action: [..., L] int32;
  valid: [..., L] bool, the steps up to and including the one that ended
  the clip's episode; score: [...] float32, the hidden score of the rater
  objective (the synthetic rater's ground truth, never the learner's)."""
  observation: chex.Array
  action: chex.Array
  valid: chex.Array
  score: chex.Array


def valid_steps(done: jax.Array) -> jax.Array:
  """[..., L] bool -> [..., L] bool: the steps before any episode end, and
  the step that ended it."""
  ended_before = jnp.cumsum(done, axis=-1) - done
  return ended_before == 0


def cut_clips(traj: dict, env_index: jax.Array, start: jax.Array, length: int):
  """Clips [C] from a rollout: traj leaves [T, E, ...] (observation, action,
  done, truncated, step_score); clip c is steps start[c] .. start[c] +
  length - 1 of env env_index[c]. Also returns cut [C] bool: the clip ends
  at a time-limit cut-off, which a rater would take for a failure."""
  steps = start[:, None] + jnp.arange(length)                    # [C, L]
  take = lambda x: x[steps, env_index[:, None]]
  done = take(traj["done"])
  valid = valid_steps(done)
  cut = (take(traj["truncated"]) & valid).any(-1)
  score = jnp.where(valid, take(traj["step_score"]), 0.0).sum(-1)
  return Clips(observation=take(traj["observation"]), action=take(traj["action"]),
               valid=valid, score=score), cut


# ---------------------------------------------------------------------------
# Rankings -> likelihoods.

def ranking_pairs(num_clips: int) -> tuple[np.ndarray, np.ndarray]:
  """Rank positions (better [P], worse [P]) of all K choose 2 pairs a
  ranking of K clips implies: the clip at position i beats every later one."""
  pairs = np.array(list(itertools.combinations(range(num_clips), 2)), np.int32)
  return pairs[:, 0], pairs[:, 1]


def pairs_loss(returns: jax.Array, ranking: jax.Array) -> jax.Array:
  """Bradley-Terry negative log-likelihood averaged over the K choose 2
  pairs: returns [K] predicted clip returns, ranking [K] clip indices best
  first. P(a beats b) = sigmoid(R_a - R_b)."""
  better, worse = ranking_pairs(ranking.shape[-1])
  ordered = returns[ranking]
  return -jax.nn.log_sigmoid(ordered[better] - ordered[worse]).mean()


def plackett_luce_loss(returns: jax.Array, ranking: jax.Array) -> jax.Array:
  """Negative log-likelihood of the whole ranking under Plackett-Luce: the
  best clip is chosen from all K with softmax(R), the next from the rest..."""
  ordered = returns[ranking]
  rest = jax.lax.cumlogsumexp(ordered, reverse=True)
  return -(ordered - rest)[:-1].sum()


def pair_accuracy(returns: jax.Array, ranking: jax.Array,
                  score: jax.Array | None = None) -> jax.Array:
  """Share of the ranking's pairs that `returns` order the same way; with
  the clips' hidden `score` [K], only over the pairs whose scores differ
  (a tie's label is a coin toss; NaN when every pair is tied)."""
  better, worse = ranking_pairs(ranking.shape[-1])
  ordered = returns[ranking]
  right = (ordered[better] > ordered[worse]).astype(jnp.float32)
  if score is None:
    return right.mean()
  scored = score[ranking]
  counts = (scored[better] != scored[worse]).astype(jnp.float32)
  return (right * counts).sum() / counts.sum()


LOSSES = {"pairs": pairs_loss, "plackett_luce": plackett_luce_loss}


# ---------------------------------------------------------------------------
# The reward model.

class RewardModel(nn.Module):
  """(observation [B, *obs_shape], action [B]) -> reward [B]: an MLP over
  the flattened observation and the one-hot action."""
  num_actions: int
  hidden: int = 64
  num_layers: int = 2

  @nn.compact
  def __call__(self, observation: chex.Array, action: chex.Array) -> chex.Array:
    x = jnp.concatenate([observation.reshape(observation.shape[0], -1).astype(jnp.float32),
                         jax.nn.one_hot(action, self.num_actions)], axis=-1)
    for _ in range(self.num_layers):
      x = nn.relu(nn.Dense(self.hidden)(x))
    return nn.Dense(1)(x)[:, 0]


def init_ensemble(model: RewardModel, observation_shape, size: int, key: jax.Array):
  """Params of `size` members, stacked on a leading axis."""
  obs = jnp.zeros((1, *observation_shape), jnp.float32)
  action = jnp.zeros((1,), jnp.int32)
  return jax.vmap(lambda k: model.init(k, obs, action))(jax.random.split(key, size))


def step_rewards(model: RewardModel, params, observation, action) -> jax.Array:
  """One member's reward of every step: observation [..., *obs_shape] with
  action [...] -> [...]."""
  lead = action.shape
  flat = model.apply(params, observation.reshape(-1, *observation.shape[len(lead):]),
                     action.reshape(-1))
  return flat.reshape(lead)


def clip_returns(model: RewardModel, params, clips: Clips) -> jax.Array:
  """One member's return of every clip [...]: the sum of its rewards over
  the clip's valid steps."""
  rewards = step_rewards(model, params, clips.observation, clips.action)
  return jnp.where(clips.valid, rewards, 0.0).sum(-1)


def ensemble_clip_returns(model: RewardModel, params, clips: Clips) -> jax.Array:
  """[M, ...]: every member's clip returns."""
  return jax.vmap(lambda p: clip_returns(model, p, clips))(params)


def disagreement(returns: jax.Array) -> jax.Array:
  """returns [M, Q, K] -> [Q]: the standard deviation over members of the
  predicted preference probability sigmoid(R_i - R_j), averaged over the
  query's pairs (Christiano et al.'s variance-based query selection)."""
  first, second = ranking_pairs(returns.shape[-1])
  probability = jax.nn.sigmoid(returns[..., first] - returns[..., second])  # [M, Q, P]
  return probability.std(axis=0).mean(-1)


# ---------------------------------------------------------------------------
# The label budget and the label buffer.

def label_schedule(total_labels: int, label_updates: int) -> np.ndarray:
  """Labels asked for before each update [label_updates]: the cumulative
  count follows total (1 - (1 - u / label_updates)^2), so the rate falls
  linearly from twice the average to 0 (front-loaded); sums to total."""
  u = np.arange(label_updates + 1) / label_updates
  cumulative = np.round(total_labels * (1.0 - (1.0 - u) ** 2)).astype(np.int64)
  return np.diff(cumulative).astype(np.int32)


def training_slot(j: jax.Array, heldout_every: int) -> jax.Array:
  """The buffer slot of the j-th training label, skipping every
  `heldout_every`-th slot (held out; 0: none)."""
  if heldout_every == 0:
    return j
  if heldout_every == 1:
    raise ValueError("heldout_every=1 would hold out every label")
  return j + j // (heldout_every - 1)


def num_training(count: jax.Array, heldout_every: int) -> jax.Array:
  """Training labels among the first `count` slots."""
  return count if heldout_every == 0 else count - count // heldout_every


def heldout_slots(capacity: int, heldout_every: int) -> np.ndarray:
  """Slots of the held-out labels (static)."""
  if heldout_every == 0:
    return np.zeros((0,), np.int32)
  return np.arange(heldout_every - 1, capacity, heldout_every, dtype=np.int32)


@chex.dataclass(frozen=True)
class LabelBatch:
  clips: Clips          # [B, K, ...]
  ranking: chex.Array   # [B, K] int32
  weight: chex.Array    # [B]


def make_fit_fn(model: RewardModel, optimizer, *, loss: str, batch_size: int,
                num_steps: int, heldout_every: int):
  """`fit(train, clips [N, K, ...], ranking [N, K], count, key) -> (train,
  metrics)`: `num_steps` SGD steps of every ensemble member (leading axis M
  of train), each on its own minibatches of the training labels among the
  first `count` slots; in shard_map, each device draws its share of the
  global batch keyed by the global example index. Metrics: the members'
  mean loss and training accuracy over the last step."""
  loss_of = LOSSES[loss]

  def loss_fn(params, batch: LabelBatch):
    returns = clip_returns(model, params, batch.clips)                   # [B, K]
    losses = jax.vmap(loss_of)(returns, batch.ranking)
    return losses, {"train_accuracy": jax.vmap(pair_accuracy)(returns, batch.ranking)}

  def one_member(train, clips, ranking, count, key):
    local = batch_size // jax.lax.psum(1, sharding.DATA)
    trainable = num_training(count, heldout_every)

    def sgd(train, k):
      keys = sharding.global_keys(jax.random.fold_in(key, k), local)
      j = jax.vmap(lambda kk: jax.random.randint(kk, (), 0, jnp.maximum(trainable, 1)))(keys)
      slot = training_slot(j, heldout_every)
      batch = LabelBatch(clips=jax.tree.map(lambda x: x[slot], clips), ranking=ranking[slot],
                         weight=jnp.full((local,), (trainable > 0).astype(jnp.float32)))
      return learner.sgd_step(train, batch, loss_fn=loss_fn, optimizer=optimizer)

    train, metrics = jax.lax.scan(sgd, train, jnp.arange(num_steps))
    return train, jax.tree.map(lambda x: x[-1], metrics)

  def fit(train, clips, ranking, count, key):
    members = jax.tree.leaves(train.params)[0].shape[0]
    keys = jax.random.split(key, members)
    train, metrics = jax.vmap(one_member, in_axes=(0, None, None, None, 0))(
        train, clips, ranking, count, keys)
    return train, {"reward_loss": metrics["loss"].mean(),
                   "reward_train_accuracy": metrics["train_accuracy"].mean()}

  return fit


def heldout_accuracy(model: RewardModel, params, clips: Clips, ranking, count,
                     heldout_every: int) -> jax.Array:
  """Pair accuracy of the ensemble's mean clip return on the held-out
  labels among the first `count` slots, over the pairs whose hidden scores
  differ (NaN while there are none)."""
  slots = heldout_slots(ranking.shape[0], heldout_every)
  if slots.size == 0:
    return jnp.float32(jnp.nan)
  held = jax.tree.map(lambda x: x[slots], clips)
  returns = ensemble_clip_returns(model, params, held).mean(0)            # [H, K]
  accuracy = jax.vmap(pair_accuracy)(returns, ranking[slots], held.score)
  mask = (slots < count) & jnp.isfinite(accuracy)
  total = jnp.where(mask, accuracy, 0.0).sum()
  return jnp.where(mask.any(), total / jnp.maximum(mask.sum(), 1), jnp.nan)
