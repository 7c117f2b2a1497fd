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

# Which games have which symmetry group (others: none); Go at every size is
# dihedral too.
DIHEDRAL = frozenset({"tic_tac_toe", "othello"})
MIRROR_COLUMNS = frozenset({"connect_four"})


def is_dihedral(env_id: str) -> bool:
  return env_id in DIHEDRAL or env_id.startswith("go_")


def num_symmetries(env_id: str) -> int:
  return 8 if is_dihedral(env_id) else 2 if env_id in MIRROR_COLUMNS else 1


def _dihedral(board, t):
  """The t-th of the 8 symmetries of a square board (t static)."""
  board = jnp.rot90(board, k=t % 4, axes=(0, 1))
  return jnp.flip(board, axis=1) if t >= 4 else board


def transform(env_id: str, observation, policy, index):
  """Applies symmetry `index` (traced int, < num_symmetries) to one example.
  policy: [A] or [A, K] (K move distributions of the same position, e.g. the
  search policy and the opponent's reply)."""
  if is_dihedral(env_id):
    side = observation.shape[0]
    cells = side * side

    def branch(t):
      def f(obs, pol):
        rest = pol.shape[1:]
        moved = _dihedral(pol[:cells].reshape(side, side, *rest), t).reshape(cells, *rest)
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
  policy: [N, A] or [N, A, K]."""
  count = num_symmetries(env_id)
  if count == 1:
    return observation, policy
  index = jax.vmap(lambda k: jax.random.randint(k, (), 0, count))(keys)
  return jax.vmap(lambda o, p, i: transform(env_id, o, p, i))(observation, policy, index)


# ---------------------------------------------------------------------------
# Left-right mirror symmetry of single-player games, for equivariant policies
# (`--mirror_symmetry` of PPO). A game is listed only where its step function
# was checked to commute with the mirror: step(mirror(s), swap(a)) ==
# mirror(step(s, a)), rewards and terminations unchanged.
#   minatar-breakout: gymnax's paddle, ball (x -> 9 - x, up-left <-> up-right,
#     down-left <-> down-right) and brick rules treat both sides alike; actions
#     [no-op, left, right]. Only the start position of the paddle (column 4 of
#     0-9) is off-centre, which no policy's per-state optimality depends on.
#   CartPole-v1: the dynamics are odd in (x, x_dot, theta, theta_dot, force);
#     the mirror negates the observation; actions [push left, push right].
# env id -> (how the observation is mirrored, action permutation)
MIRRORS = {
    "minatar-breakout": ("flip_width", (0, 2, 1)),
    "CartPole-v1": ("negate", (1, 0)),
}


def has_mirror(env_id: str) -> bool:
  return env_id in MIRRORS


def mirror_observations(env_id: str, observations: jax.Array) -> jax.Array:
  """observations: [B, H, W, C] grids or [B, D] vectors."""
  kind, _ = MIRRORS[env_id]
  return jnp.flip(observations, axis=2) if kind == "flip_width" else -observations


def mirror_actions(env_id: str, per_action: jax.Array) -> jax.Array:
  """Permutes the last axis (logits or probabilities over actions)."""
  _, permutation = MIRRORS[env_id]
  return per_action[..., jnp.array(permutation)]
