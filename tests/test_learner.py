"""zerogo.learner: the SGD loop helper shared by every trainer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zerogo import learner


@pytest.mark.parametrize("unroll", [False, True])
def test_scan_or_unroll_is_scan(unroll):
  # A carry of two leaves, xs a pytree, per-step outputs a dict: the
  # unrolled loop must give what lax.scan gives, stacked the same way.
  def fn(carry, x):
    total, count = carry
    total = total * 0.5 + x["a"] * x["b"]
    return (total, count + 1), {"total": total, "double": 2 * x["a"]}

  xs = {"a": jnp.arange(5.0), "b": jnp.array([1.0, -2.0, 3.0, 0.5, 4.0])}
  carry = (jnp.float32(1.0), jnp.int32(0))
  expected_carry, expected_out = jax.lax.scan(fn, carry, xs)
  got_carry, got_out = jax.jit(
      lambda c, x: learner.scan_or_unroll(fn, c, x, unroll=unroll))(carry, xs)
  assert int(got_carry[1]) == 5
  np.testing.assert_allclose(float(got_carry[0]), float(expected_carry[0]), rtol=1e-6)
  assert got_out["total"].shape == (5,)
  for key in expected_out:
    np.testing.assert_allclose(np.asarray(got_out[key]), np.asarray(expected_out[key]),
                               rtol=1e-6)
  # Hand-computed: t_k = t_{k-1} / 2 + a_k b_k from t = 1.
  t = 1.0
  for a, b in zip(range(5), [1.0, -2.0, 3.0, 0.5, 4.0]):
    t = t / 2 + a * b
  np.testing.assert_allclose(float(got_carry[0]), t, rtol=1e-6)
