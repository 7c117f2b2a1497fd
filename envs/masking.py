"""The one convention for illegal moves.

pgx's `legal_action_mask` is True for legal moves; mctx's `invalid_actions`
is True for illegal ones. Logits of illegal moves become the most negative
finite number of their dtype: they get probability exactly 0 under softmax
and sampling, and, unlike -inf, never produce NaN in `0 * log p` or in
gradients.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def mask_illegal(logits: jax.Array, legal_action_mask: jax.Array) -> jax.Array:
  """`logits` with illegal actions (mask False) pushed to the dtype's minimum."""
  logits = jnp.asarray(logits)
  if not jnp.issubdtype(logits.dtype, jnp.floating):
    logits = logits.astype(jnp.float32)
  return jnp.where(legal_action_mask, logits, jnp.finfo(logits.dtype).min)


def random_legal_action(key: jax.Array, legal_action_mask: jax.Array) -> jax.Array:
  """A uniformly random legal action (int32) of one position."""
  logits = mask_illegal(jnp.zeros(legal_action_mask.shape), legal_action_mask)
  return jax.random.categorical(key, logits).astype(jnp.int32)


def is_masked(logits: jax.Array) -> jax.Array:
  """True where `mask_illegal` ruled an action out."""
  return logits <= jnp.finfo(logits.dtype).min / 2


def invalid_actions(legal_action_mask: jax.Array) -> jax.Array:
  """mctx's mask (True = illegal) from pgx's (True = legal)."""
  return ~legal_action_mask
