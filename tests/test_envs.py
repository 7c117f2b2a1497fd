"""One conformance suite for every registered env, plus the wrappers."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs


def _random_games(env, num_games: int, num_steps: int, key):
  game = envs.RecordEpisodeStatistics(envs.AutoReset(env))

  def one_step(carry, k):
    (state, stats) = carry
    action_key, step_key = jax.random.split(k)
    keys = jax.random.split(action_key, num_games)
    legal = state.legal_action_mask
    action = jax.vmap(lambda kk, m: jax.random.categorical(kk, jnp.where(m, 0.0, -jnp.inf)))(keys, legal)
    was_legal = jnp.take_along_axis(legal, action[:, None], axis=1)[:, 0]
    carry, info = jax.vmap(game.step)(carry, action, jax.random.split(step_key, num_games))
    chex.assert_shape(jax.vmap(env.observe)(carry[0]), (num_games, *env.observation_shape))
    return carry, (was_legal, info.rewards, info.done, carry[1].finished)

  @jax.jit
  def run(key):
    init_key, scan_key = jax.random.split(key)
    carry = jax.vmap(game.init)(jax.random.split(init_key, num_games))
    return jax.lax.scan(one_step, carry, jax.random.split(scan_key, num_steps))

  return run(key)


@pytest.mark.parametrize("name", envs.list_envs())
def test_conformance_random_games_under_jit(name):
  env = envs.make(name)
  assert env.id == name
  assert env.num_actions > 0 and env.num_players >= 1
  state = env.init(jax.random.PRNGKey(0))
  chex.assert_shape(env.observe(state), env.observation_shape)
  chex.assert_shape(state.legal_action_mask, (env.num_actions,))
  chex.assert_shape(state.rewards, (env.num_players,))
  assert state.legal_action_mask.any()

  (final, stats), (was_legal, rewards, done, finished) = _random_games(
      env, num_games=4, num_steps=64, key=jax.random.PRNGKey(1))
  assert bool(was_legal.all()), "a random legal action was reported illegal"
  assert np.isfinite(np.asarray(rewards)).all()
  # Auto-reset: after any step the slot holds a live game with a legal move.
  assert bool(final.legal_action_mask.any(axis=-1).all())
  assert not bool(final.terminated.any())
  np.testing.assert_array_equal(np.asarray(stats.finished), np.asarray(done).sum(0))
  if env.is_perfect_information_two_player:
    # Zero-sum: what one player wins the other loses.
    np.testing.assert_allclose(np.asarray(rewards).sum(-1), 0.0, atol=1e-6)


@pytest.mark.parametrize("name", ["tic_tac_toe", "connect_four"])
def test_stepping_a_finished_game_is_a_no_op(name):
  env = envs.make(name)
  state = env.init(jax.random.PRNGKey(0))
  step = jax.jit(env.step)
  key = jax.random.PRNGKey(1)
  while not bool(state.terminated):
    key, k = jax.random.split(key)
    action = jax.random.categorical(k, jnp.where(state.legal_action_mask, 0.0, -jnp.inf))
    state = step(state, action, k)
  after = step(state, jnp.int32(0), key)
  np.testing.assert_array_equal(np.asarray(after.observation), np.asarray(state.observation))
  assert bool(after.terminated)


def test_unknown_env_lists_valid_names():
  with pytest.raises(envs.UnknownEnvError, match="valid names are: .*connect_four"):
    envs.make("conect_four")


def test_every_pgx_board_game_is_registered_and_minatar_is_not():
  import pgx
  board = set(envs.list_envs("board"))
  pgx_games = {n for n in pgx.available_envs() if not n.startswith("minatar")}
  assert pgx_games <= board
  assert board - pgx_games == {"go_5x5", "go_7x7"}  # Go sizes pgx builds but does not list


def test_episode_statistics_count_moves_and_results():
  env = envs.make("tic_tac_toe")
  game = envs.RecordEpisodeStatistics(envs.AutoReset(env))
  carry = game.init(jax.random.PRNGKey(0))
  first = int(carry[0].current_player)
  # First mover plays 0, 1, 2 (top row) while the other plays 3, 4.
  for action in (0, 3, 1, 4, 2):
    carry, info = jax.jit(game.step)(carry, jnp.int32(action), jax.random.PRNGKey(action))
  state, stats = carry
  assert bool(info.terminated) and int(stats.finished) == 1
  assert int(stats.last_length) == 5 and int(stats.length) == 0
  assert float(stats.last_returns[first]) == 1.0
  assert float(stats.last_returns[1 - first]) == -1.0
  assert not bool(state.terminated) and int(state.legal_action_mask.sum()) == 9
