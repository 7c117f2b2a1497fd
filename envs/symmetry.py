"""Board symmetries for data augmentation of (observation, policy) pairs.

A game's rules are invariant under these transforms, so a transformed
training position with its transformed search policy is another valid
example. Observations are [H, W, C]; policies are [H * W] over cells in
row-major order, plus an optional trailing pass action (go, othello), or
[W] over columns (connect four).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# Which games have which symmetry group (others: none).
DIHEDRAL = frozenset({"tic_tac_toe", "go_9x9", "go_19x19", "othello"})
MIRROR_COLUMNS = frozenset({"connect_four"})


def num_symmetries(env_id: str) -> int:
  return 8 if env_id in DIHEDRAL else 2 if env_id in MIRROR_COLUMNS else 1


def _dihedral(board, t):
  """The t-th of the 8 symmetries of a square board (t static)."""
  board = jnp.rot90(board, k=t % 4, axes=(0, 1))
  return jnp.flip(board, axis=1) if t >= 4 else board


def transform(env_id: str, observation, policy, index):
  """Applies symmetry `index` (traced int, < num_symmetries) to one example."""
  if env_id in DIHEDRAL:
    side = observation.shape[0]
    cells = side * side

    def branch(t):
      def f(obs, pol):
        moved = _dihedral(pol[:cells].reshape(side, side), t).reshape(-1)
        return _dihedral(obs, t), jnp.concatenate([moved, pol[cells:]])
      return f
    return jax.lax.switch(index, [branch(t) for t in range(8)], observation, policy)
  if env_id in MIRROR_COLUMNS:
    flip = index == 1
    return (jnp.where(flip, jnp.flip(observation, axis=1), observation),
            jnp.where(flip, jnp.flip(policy, axis=0), policy))
  return observation, policy


def augment(env_id: str, keys, observation, policy):
  """Random symmetry per example. keys: [N]; observation: [N, H, W, C];
  policy: [N, A]."""
  count = num_symmetries(env_id)
  if count == 1:
    return observation, policy
  index = jax.vmap(lambda k: jax.random.randint(k, (), 0, count))(keys)
  return jax.vmap(lambda o, p, i: transform(env_id, o, p, i))(observation, policy, index)
