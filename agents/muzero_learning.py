"""MuZero's learning side: training segments with their targets, and the loss.

A segment of `num_unroll_steps + td_steps + 1` consecutive rows from one
env slot's ring (`zerogo.segments`) becomes one training example:

- the representation of its first observation is unrolled K steps through
  the dynamics with the actions taken;
- step k learns the stored search policy of row k (or a fresh search of it
  with the latest parameters, for the reanalysed share of the batch), the
  n-step return from row k bootstrapped with the *target* network's value
  of row k + n, and (k >= 1) the env's reward for row k - 1's action;
- rows after an episode end are absorbing: value and reward targets 0, no
  policy loss;
- values and rewards are categorical over the support of h(x); losses of
  steps k >= 1 weigh 1/K and the gradient into the dynamics is halved at
  every step, as in the paper.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
import optax

from agents import muzero_search
from agents.configs import MuZeroConfig
from zerogo import networks, segments, targets


@chex.dataclass(frozen=True)
class Batch:
  """Training examples of an unroll of K steps, N segments:
  observation [N, *obs]; action [N, K]; policy [N, K+1, A]; value, reward,
  policy_weight [N, K+1] (reward[:, 0] unused); weight [N]."""
  observation: chex.Array
  action: chex.Array
  policy: chex.Array
  value: chex.Array
  reward: chex.Array
  policy_weight: chex.Array
  weight: chex.Array


def scale_gradient(x: jax.Array, scale: float) -> jax.Array:
  """x forwards; `scale` x its gradient backwards."""
  return x * scale + jax.lax.stop_gradient(x) * (1.0 - scale)


def make_loss_fn(config: MuZeroConfig, network) -> Any:
  support = config.support_size
  unroll = config.num_unroll_steps

  def loss_fn(params, batch: Batch):
    latent = network.apply(params, batch.observation, method=networks.MuZeroNet.represent)
    policy_loss = value_loss = reward_loss = 0.0
    reward_logits = None
    for k in range(unroll + 1):
      scale = 1.0 if k == 0 else 1.0 / unroll
      logits, value = network.apply(params, latent, method=networks.MuZeroNet.predict)
      policy_loss += scale * batch.policy_weight[:, k] * optax.softmax_cross_entropy(
          logits, batch.policy[:, k])
      value_loss += scale * optax.softmax_cross_entropy(
          value, targets.to_categorical(batch.value[:, k], support))
      if k > 0:
        reward_loss += scale * optax.softmax_cross_entropy(
            reward_logits, targets.to_categorical(batch.reward[:, k], support))
      if k < unroll:
        latent, reward_logits = network.apply(params, latent, batch.action[:, k],
                                              method=networks.MuZeroNet.recurrent)
        latent = scale_gradient(latent, 0.5)
    loss = policy_loss + config.value_loss_weight * value_loss + reward_loss
    return loss, {"policy_loss": policy_loss, "value_loss": value_loss,
                  "reward_loss": reward_loss}

  return loss_fn


def make_batch_fn(config: MuZeroConfig, env, network):
  """(params, target_params, replay, slot_keys [B]) -> Batch of B x per_slot
  segments with their targets."""
  K, n = config.num_unroll_steps, config.td_steps
  discount = muzero_search.model_discount(config.gamma, env.num_players)
  initial = muzero_search.make_initial_inference(network)
  reanalysed = config.reanalysed_per_slot
  search = muzero_search.from_config(config, env, network) if reanalysed else None

  def batch_fn(params, target_params, replay, slot_keys):
    keys = jax.vmap(jax.random.split)(slot_keys)
    seg = segments.sample(replay, keys[:, 0], config.samples_per_slot,
                          config.segment_length)
    flat = lambda x: x.reshape((-1,) + x.shape[2:])
    seg = jax.tree.map(flat, seg)                          # [N, L, ...]
    steps_first = lambda x: jnp.swapaxes(x, 0, 1)         # [L, N, ...]
    rewards, dones = steps_first(seg.reward), steps_first(seg.done.astype(jnp.float32))
    value_rewards = steps_first(seg.value_reward)
    # Target-network values of the bootstrap rows n .. n + K, mover's side.
    boot_obs = seg.observation[:, n:n + K + 1]
    _, _, boot = initial(target_params, flat(boot_obs))
    boot = steps_first(boot.reshape(boot_obs.shape[:2]))
    z = targets.n_step_values(value_rewards, dones, boot, discount=discount, td_steps=n,
                              num_targets=K + 1)          # [K+1, N]
    # alive[k]: row k is still in the episode of row 0.
    alive = jnp.concatenate([jnp.ones_like(dones[:1]),
                             jnp.cumprod(1.0 - dones[:K], axis=0)])      # [K+1, N]
    reward = jnp.concatenate([jnp.zeros_like(rewards[:1]), alive[:K] * rewards[:K]])
    policy = seg.policy[:, :K + 1]
    if reanalysed:
      # Fresh search policies for the first `reanalysed` segments of each slot.
      per_slot = config.samples_per_slot
      pick = lambda x: x.reshape((-1, per_slot) + x.shape[1:])[:, :reanalysed]
      obs = pick(seg.observation[:, :K + 1])              # [B, m, K+1, ...]
      legal = pick(seg.legal[:, :K + 1])
      search_keys = jax.vmap(lambda k: jax.random.split(k, reanalysed * (K + 1)))(keys[:, 1])
      out = search(params, search_keys.reshape(-1), obs.reshape((-1,) + obs.shape[3:]),
                   legal.reshape((-1,) + legal.shape[3:]),
                   jnp.ones(obs.shape[0] * reanalysed * (K + 1), bool))
      fresh = out.policy.reshape(obs.shape[:3] + out.policy.shape[-1:])
      stored = policy.reshape((-1, per_slot) + policy.shape[1:])
      policy = stored.at[:, :reanalysed].set(fresh).reshape(policy.shape)
    return Batch(observation=seg.observation[:, 0], action=seg.action[:, :K],
                 policy=policy, value=steps_first(alive * z), reward=steps_first(reward),
                 policy_weight=steps_first(alive), weight=seg.valid.astype(jnp.float32))

  return batch_fn
