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
