"""Board symmetries keep observations and policies aligned."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs import symmetry


@pytest.mark.parametrize("env_id", sorted(symmetry.DIHEDRAL | symmetry.MIRROR_COLUMNS)
                         + ["go_5x5", "go_7x7", "go_9x9"])
def test_stone_and_policy_move_together(env_id):
  env = envs.make(env_id)
  height, width, channels = env.observation_shape
  cells = height * width if symmetry.is_dihedral(env_id) else width
  seen = set()
  stride = max(1, cells // 7)
  for cell in range(0, cells, stride):
    obs = np.zeros(env.observation_shape, np.float32)
    row, col = (divmod(cell, width) if symmetry.is_dihedral(env_id) else (0, cell))
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
      expected = r * width + c if symmetry.is_dihedral(env_id) else c
      assert new_pol[:cells].argmax() == expected, (t, cell)
      assert new_pol.sum() == pytest.approx(policy.sum())
      if env.num_actions > cells:
        assert new_pol[-1] == 0.5
      if cell == stride and t:
        seen.add(int(expected))
  if symmetry.is_dihedral(env_id):
    assert len(seen) >= 3, "the transforms are not distinct"


@pytest.mark.parametrize("env_id", ["tic_tac_toe", "go_5x5", "connect_four"])
def test_stacked_policies_move_as_each_would_alone(env_id):
  # The learner augments the search policy and the opponent's reply together.
  env = envs.make(env_id)
  keys = jax.random.split(jax.random.PRNGKey(0), 16)
  obs = jax.random.bernoulli(keys[0], 0.3, (16,) + env.observation_shape)
  first, second = jax.random.dirichlet(keys[1], jnp.ones(env.num_actions), (2, 16))
  obs_both, both = symmetry.augment(env_id, keys, obs, jnp.stack([first, second], -1))
  for policy, column in ((first, 0), (second, 1)):
    obs_one, one = symmetry.augment(env_id, keys, obs, policy)
    np.testing.assert_array_equal(np.asarray(obs_both), np.asarray(obs_one))
    np.testing.assert_array_equal(np.asarray(both[..., column]), np.asarray(one))
  assert not np.array_equal(np.asarray(obs_both), np.asarray(obs))   # some moved


@pytest.mark.parametrize("env_id", ["tic_tac_toe", "go_7x7", "go_9x9", "connect_four"])
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


# --- left-right mirrors of single-player games (PPO's --mirror_symmetry) ---

def _mirror_gymnax_state(env_id, state):
  if env_id == "CartPole-v1":
    return state.replace(x=-state.x, x_dot=-state.x_dot, theta=-state.theta,
                         theta_dot=-state.theta_dot)
  assert env_id == "minatar-breakout"
  return state.replace(ball_x=9 - state.ball_x, last_x=9 - state.last_x, pos=9 - state.pos,
                       ball_dir=jnp.array([1, 0, 3, 2])[state.ball_dir],
                       brick_map=jnp.flip(state.brick_map, axis=1))


@pytest.mark.parametrize("env_id", sorted(symmetry.MIRRORS))
def test_declared_mirrors_commute_with_the_game(env_id):
  """step(mirror(s), swap(a)) == mirror(step(s, a)) along 64 games of
  (mostly) random play: the claim that makes an equivariant policy lose
  nothing."""
  import gymnax
  from envs import minatar
  game, params = gymnax.make(minatar.GAMES[env_id][0])
  permutation = jnp.array(symmetry.MIRRORS[env_id][1])

  def play(key):
    reset_key, key = jax.random.split(key)
    obs, state = game.reset_env(reset_key, params)
    mirrored = _mirror_gymnax_state(env_id, state)

    def step(carry, key):
      state, mirrored, alive, errors = carry
      action_key, follow_key, step_key = jax.random.split(key, 3)
      action = jax.random.randint(action_key, (), 0, game.num_actions)
      if env_id == "minatar-breakout":  # mostly chase the ball: long games, bricks break
        dx = jnp.where((state.ball_dir == 1) | (state.ball_dir == 2), 1, -1)
        falling = state.ball_dir >= 2
        target = jnp.clip(state.ball_x + jnp.where(falling, dx * (9 - state.ball_y), 0), 0, 9)
        chase = jnp.where(state.pos < target, 2, jnp.where(state.pos > target, 1, 0))
        action = jnp.where(jax.random.uniform(follow_key) < 0.8, chase, action)
      obs, state, reward, done, _ = game.step_env(step_key, state, action, params)
      m_obs, mirrored, m_reward, m_done, _ = game.step_env(
          step_key, mirrored, permutation[action], params)
      expected = symmetry.mirror_observations(env_id, obs[None])[0]
      wrong = ((jnp.abs(m_obs - expected).max() > 1e-5) | (reward != m_reward)
               | (done != m_done))
      return (state, mirrored, alive & ~done, errors + (alive & wrong)), (alive, reward)

    (_, _, _, errors), (alive, reward) = jax.lax.scan(
        step, (state, mirrored, jnp.bool_(True), jnp.int32(0)), jax.random.split(key, 300))
    return errors, alive.sum(), (alive * reward).sum()

  errors, steps, rewards = jax.jit(jax.vmap(play))(jax.random.split(jax.random.PRNGKey(0), 64))
  assert int(steps.sum()) > 64 * 15, "the games were too short to test anything"
  assert float(rewards.sum()) >= 64 * 2, "too few bricks or balance steps were scored"
  assert int(errors.sum()) == 0


def test_a_wrong_mirror_is_caught_by_the_commute_test(monkeypatch):
  """Left and right not swapped: the game no longer commutes."""
  monkeypatch.setitem(symmetry.MIRRORS, "minatar-breakout", ("flip_width", (0, 1, 2)))
  with pytest.raises(AssertionError):
    test_declared_mirrors_commute_with_the_game("minatar-breakout")
