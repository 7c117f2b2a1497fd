"""Learning targets against hand-computed values."""

import jax.numpy as jnp
import numpy as np
import pytest

from zerogo import targets


def test_gae_hand_computed_with_termination():
  # gamma 0.9, lambda 0.8; the episode ends after step 1 (nothing crosses it).
  #   t=2: delta = 2 + 0.9 * 0.3 - 0.1 = 2.17                  A2 = 2.17
  #   t=1: delta = 0 - 0.2 = -0.2 (done: no bootstrap, no carry) A1 = -0.2
  #   t=0: delta = 1 + 0.9 * 0.2 - 0.5 = 0.68                  A0 = 0.68 + 0.72 * -0.2
  advantages = targets.gae(jnp.array([1.0, 0.0, 2.0]), jnp.array([0.5, 0.2, 0.1]),
                           jnp.array([False, True, False]), jnp.float32(0.3),
                           gamma=0.9, gae_lambda=0.8)
  np.testing.assert_allclose(np.asarray(advantages), [0.536, -0.2, 2.17], rtol=1e-6)


def test_gae_truncation_bootstraps_through_the_reward():
  # Step 1 was cut off by a time limit with V(final observation) = 0.4: the
  # caller folds gamma * 0.4 into its reward and marks it done.
  #   A1 = 0.36 - 0.2 = 0.16;  A0 = 0.68 + 0.72 * 0.16 = 0.7952
  advantages = targets.gae(jnp.array([1.0, 0.9 * 0.4, 2.0]), jnp.array([0.5, 0.2, 0.1]),
                           jnp.array([False, True, False]), jnp.float32(0.3),
                           gamma=0.9, gae_lambda=0.8)
  np.testing.assert_allclose(np.asarray(advantages)[:2], [0.7952, 0.16], rtol=1e-6)


@pytest.mark.parametrize("gae_lambda", [0.0, 1.0])
def test_gae_limits_are_td_error_and_monte_carlo(gae_lambda):
  rng = np.random.default_rng(0)
  rewards, values = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
  dones = rng.random((6, 4)) < 0.3
  last = rng.normal(size=4)
  gamma = 0.97
  # NumPy reference: bootstrapped n-step returns, written forwards.
  next_values = np.concatenate([values[1:], last[None]])
  td = rewards + gamma * next_values * ~dones - values
  returns = np.zeros_like(rewards)
  for env in range(4):
    acc = last[env]
    for t in reversed(range(6)):
      acc = rewards[t, env] + gamma * acc * (not dones[t, env])
      returns[t, env] = acc
  expected = td if gae_lambda == 0.0 else returns - values
  advantages = targets.gae(jnp.asarray(rewards, jnp.float32), jnp.asarray(values, jnp.float32),
                           jnp.asarray(dones), jnp.asarray(last, jnp.float32), gamma=gamma,
                           gae_lambda=gae_lambda)
  np.testing.assert_allclose(np.asarray(advantages), expected, rtol=1e-5, atol=1e-5)
