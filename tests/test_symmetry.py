"""Board symmetries keep observations and policies aligned."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs import symmetry


@pytest.mark.parametrize("env_id", sorted(symmetry.DIHEDRAL | symmetry.MIRROR_COLUMNS))
def test_stone_and_policy_move_together(env_id):
  env = envs.make(env_id)
  height, width, channels = env.observation_shape
  cells = height * width if env_id in symmetry.DIHEDRAL else width
  seen = set()
  stride = max(1, cells // 7)
  for cell in range(0, cells, stride):
    obs = np.zeros(env.observation_shape, np.float32)
    row, col = (divmod(cell, width) if env_id in symmetry.DIHEDRAL else (0, cell))
    obs[row, col, 0] = 1.0
    policy = np.zeros(env.num_actions, np.float32)
    policy[cell] = 1.0
    if env.num_actions > cells:
      policy[-1] = 0.5   # pass must stay pass
    for t in range(symmetry.num_symmetries(env_id)):
      new_obs, new_pol = jax.jit(symmetry.transform, static_argnums=0)(
          env_id, jnp.asarray(obs), jnp.asarray(policy), jnp.int32(t))
      new_obs, new_pol = np.asarray(new_obs), np.asarray(new_pol)
      r, c = np.argwhere(new_obs[..., 0] == 1.0)[0]
      expected = r * width + c if env_id in symmetry.DIHEDRAL else c
      assert new_pol[:cells].argmax() == expected, (t, cell)
      assert new_pol.sum() == pytest.approx(policy.sum())
      if env.num_actions > cells:
        assert new_pol[-1] == 0.5
      if cell == stride and t:
        seen.add(int(expected))
  if env_id in symmetry.DIHEDRAL:
    assert len(seen) >= 3, "the transforms are not distinct"


@pytest.mark.parametrize("env_id", ["tic_tac_toe", "go_9x9", "connect_four"])
def test_pgx_actions_index_cells_row_major(env_id):
  """The assumption the transforms rest on: action a puts a stone at cell
  (a // W, a % W) (connect four: in column a)."""
  env = envs.make(env_id)
  start = env.init(jax.random.PRNGKey(0))
  width = env.observation_shape[1]
  for action in (1, 5):
    after = env.step(start, jnp.int32(action), jax.random.PRNGKey(1))
    before_obs, after_obs = np.asarray(start.observation), np.asarray(after.observation)
    changed = set()
    for ch in range(before_obs.shape[-1]):
      diff = np.argwhere(before_obs[..., ch] != after_obs[..., ch])
      if 0 < len(diff) < before_obs.shape[0] * width:   # skip whole-board planes
        changed |= {tuple(d) for d in diff}
    cols = {c for _, c in changed}
    assert cols == {action % width}
    if env_id != "connect_four":
      assert changed == {divmod(action, width)}
