"""Learning targets computed from trajectories: pure functions of arrays.

Time is the leading axis of every input ([T, ...], any trailing batch
shape), as the rollouts `lax.scan` produces them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def gae(rewards: jax.Array, values: jax.Array, dones: jax.Array, last_value: jax.Array,
        *, gamma: float, gae_lambda: float) -> jax.Array:
  """Generalised advantage estimates (Schulman et al. 2016) [T, ...].

  rewards, values, dones: [T, ...] for the transitions s_t -> s_t+1, where
  `dones[t]` means the episode ended after step t (nothing is bootstrapped
  across it); last_value: [...] the value of the state after the last step.
  A time-limit cut-off is not an end: pass it with done=True and fold
  gamma x V(final observation) into its reward, so the estimate bootstraps
  from where the episode was cut.

    delta_t = r_t + gamma (1 - d_t) V_t+1 - V_t
    A_t = delta_t + gamma lambda (1 - d_t) A_t+1
  """
  def step(carry, t):
    advantage, next_value = carry
    reward, value, done = t
    not_done = 1.0 - done.astype(jnp.float32)
    delta = reward + gamma * next_value * not_done - value
    advantage = delta + gamma * gae_lambda * not_done * advantage
    return (advantage, value), advantage

  _, advantages = jax.lax.scan(step, (jnp.zeros_like(last_value), last_value),
                               (rewards, values, dones), reverse=True)
  return advantages


# ---------------------------------------------------------------------------
# MuZero: scaled categorical values and rewards, n-step value targets.

VALUE_EPSILON = 1e-3  # h(x)'s linear term (Pohlen et al. 2018; MuZero appendix F)


def scale_value(x: jax.Array, eps: float = VALUE_EPSILON) -> jax.Array:
  """h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps x: squashes large returns so a
  small categorical support covers them, and keeps small ones near linear."""
  return jnp.sign(x) * (jnp.sqrt(jnp.abs(x) + 1.0) - 1.0) + eps * x


def unscale_value(y: jax.Array, eps: float = VALUE_EPSILON) -> jax.Array:
  """h^-1(y), the exact inverse of `scale_value` (the root of a quadratic in
  sqrt(|x| + 1))."""
  root = (jnp.sqrt(1.0 + 4.0 * eps * (jnp.abs(y) + 1.0 + eps)) - 1.0) / (2.0 * eps)
  return jnp.sign(y) * (jnp.square(root) - 1.0)


def to_categorical(x: jax.Array, support_size: int) -> jax.Array:
  """Scalars [...] -> two-hot probabilities [..., 2 S + 1] on the integer
  support -S..S of h(x): the two neighbouring atoms share the mass so that
  the distribution's mean is h(x) exactly (clipped to the support)."""
  y = jnp.clip(scale_value(x), -support_size, support_size)
  low = jnp.floor(y)
  upper_weight = y - low
  index = (low + support_size).astype(jnp.int32)
  atoms = 2 * support_size + 1
  return (jax.nn.one_hot(index, atoms) * (1.0 - upper_weight)[..., None]
          + jax.nn.one_hot(jnp.minimum(index + 1, atoms - 1), atoms)
          * upper_weight[..., None])


def from_categorical(logits: jax.Array, support_size: int) -> jax.Array:
  """Logits [..., 2 S + 1] -> scalars [...]: h^-1 of the mean atom."""
  support = jnp.arange(-support_size, support_size + 1, dtype=jnp.float32)
  return unscale_value((jax.nn.softmax(logits) * support).sum(-1))


def n_step_values(rewards: jax.Array, dones: jax.Array, bootstrap: jax.Array, *,
                  discount: float, td_steps: int, num_targets: int) -> jax.Array:
  """MuZero's n-step value targets along one trajectory segment.

  rewards, dones: [W, ...] for the transitions from rows 0..W-1 (reward of
  the mover at row t for its action; `dones[t]`: the episode ended with it);
  bootstrap: [num_targets, ...] value estimates of rows td_steps ..
  td_steps + num_targets - 1, each from the side of the player to move
  there; discount: per step, negative for alternating two-player games
  (-gamma: the next row's value is the opponent's). W must be at least
  td_steps + num_targets - 1. Returns [num_targets, ...]:

    z_k = sum_{i<n} discount^i r_{k+i} [alive]  +  discount^n v_{k+n} [alive]

  where a term counts only while no episode end lies between row k and it
  (after an end, the segment's rows belong to another episode).
  """
  out = []
  for k in range(num_targets):
    alive = jnp.ones_like(rewards[0])
    target = jnp.zeros_like(rewards[0])
    for i in range(td_steps):
      target = target + alive * (discount ** i) * rewards[k + i]
      alive = alive * (1.0 - dones[k + i].astype(rewards.dtype))
    out.append(target + alive * (discount ** td_steps) * bootstrap[k])
  return jnp.stack(out)
