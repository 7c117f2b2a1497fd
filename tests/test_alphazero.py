"""AlphaZero self-play, targets, replay and data-parallel learning."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents import alphazero, search as search_lib
from zerogo import networks, replay
from conftest import assert_trees_close, one_device_mesh


@pytest.mark.slow(seconds=40)
def test_four_devices_match_one_device(tiny_config):
  """Same global batch and seed: 4-way data parallel == 1 device."""
  assert jax.device_count() == 4
  config = tiny_config
  one = alphazero.AlphaZero(config, mesh=one_device_mesh())
  four = alphazero.AlphaZero(config)
  assert four.mesh.size == 4
  s1, s4 = one.init(), four.init()
  for _ in range(2):
    s1, m1 = one.step(s1)
    s4, m4 = four.step(s4)
  # Self-play is the same game for game: every game's keys depend on its
  # global index (policies differ only by float reduction order).
  np.testing.assert_array_equal(np.asarray(s1.actor.replay.observation),
                                np.asarray(s4.actor.replay.observation))
  np.testing.assert_array_equal(np.asarray(s1.actor.episode), np.asarray(s4.actor.episode))
  np.testing.assert_allclose(np.asarray(s1.actor.replay.policy),
                             np.asarray(s4.actor.replay.policy), atol=1e-5)
  assert_trees_close(s1.train.params, s4.train.params, rtol=1e-4, atol=1e-5)
  # Step metrics carry the trainer contract's leading update axis [1].
  assert float(m1["games_finished"][0]) == float(m4["games_finished"][0])
  np.testing.assert_allclose(float(m1["loss"][0]), float(m4["loss"][0]), rtol=1e-4)
  # Parameters actually moved: the comparison is not between two inits.
  init = one.init().train.params
  moved = max(float(jnp.abs(a - b).max()) for a, b in
              zip(jax.tree.leaves(init), jax.tree.leaves(s1.train.params)))
  assert moved > 1e-3


def test_replay_backfills_results_from_each_movers_side():
  buf = replay.init(num_slots=2, rows=4, observation_shape=(1,),
                    observation_dtype=jnp.float32, num_actions=2)
  policy = jnp.ones((2, 2)) / 2
  obs = jnp.zeros((2, 1))
  # Slot 0: player 0 then player 1 move, then the game ends: player 1 won.
  buf = replay.add(buf, obs, policy, jnp.array([0, 0]), jnp.array([0, 0]),
                   search_value=jnp.array([-0.5, 0.0]))
  buf = replay.add(buf, obs, policy, jnp.array([1, 1]), jnp.array([0, 0]),
                   search_value=jnp.array([0.5, 0.0]))
  rewards = jnp.array([[-1.0, 1.0], [0.0, 0.0]])
  buf = replay.backfill(buf, jnp.array([True, False]), rewards, jnp.array([0, 0]))
  np.testing.assert_array_equal(np.asarray(buf.has_target),
                                [[True, True, False, False], [False] * 4])
  np.testing.assert_array_equal(np.asarray(buf.value[0, :2]), [-1.0, 1.0])
  # A new game in slot 0 (episode 1) does not touch the finished one's rows.
  buf = replay.add(buf, obs, policy, jnp.array([0, 0]), jnp.array([1, 0]),
                   search_value=jnp.array([0.5, 0.0]))
  buf = replay.backfill(buf, jnp.array([True, True]), jnp.array([[1.0, -1.0], [0.0, 0.0]]),
                        jnp.array([1, 0]))
  np.testing.assert_array_equal(np.asarray(buf.value[0, :3]), [-1.0, 1.0, 1.0])
  # Slot 1's draw gives zero targets to all three of its rows.
  np.testing.assert_array_equal(np.asarray(buf.has_target[1]), [True, True, True, False])
  np.testing.assert_array_equal(np.asarray(buf.value[1]), [0.0, 0.0, 0.0, 0.0])
  # Sampling only returns rows with targets (weight 1) from slot 0.
  batch = replay.sample(buf, jax.random.split(jax.random.PRNGKey(0), 2), per_slot=64)
  assert float(batch.weight.min()) == 1.0
  assert set(np.asarray(batch.value[:64]).tolist()) == {-1.0, 1.0}
  # Each row's search value travels with it (-0.5 with the loss, 0.5 with the win).
  np.testing.assert_array_equal(np.asarray(batch.search_value[:64]),
                                np.asarray(batch.value[:64]) / 2)


def _small_network(env):
  """A 1-block, 8-channel AlphaZero net for `env` and its initial params."""
  config = alphazero.AlphaZeroConfig(num_channels=8, num_blocks=1)
  network = alphazero.make_network(config, env)
  return config, network, networks.init_params(network, env.observation_shape,
                                               jax.random.PRNGKey(0))


def test_search_prefers_the_winning_move():
  """From a position with an immediate win (and a threat to block), both
  searches find the win with a neutral network (uniform prior, zero value):
  the +1 comes from the env used as the model."""
  env = envs.make("tic_tac_toe")
  state = env.init(jax.random.PRNGKey(0))
  for action in (0, 3, 1, 4):   # mover can now win at 2
    state = env.step(state, jnp.int32(action), jax.random.PRNGKey(0))
  states = jax.tree.map(lambda x: x[None], state)
  _, network, params = _small_network(env)
  params = jax.tree.map(jnp.zeros_like, params)
  for kind in search_lib.SEARCHES:
    search = jax.jit(search_lib.make_search(env, network, search=kind, num_simulations=64,
                                            max_num_considered_actions=9, greedy=True))
    out = search(params, jax.random.split(jax.random.PRNGKey(1), 1), states)
    assert int(out.action[0]) == 2, kind
    assert not bool(out.policy[0][jnp.array([0, 1, 3, 4])].any()), "illegal move in target"
    # The backed-up value saw the win; the (zeroed) network value did not.
    assert float(out.root_value[0]) == 0.0
    assert float(out.search_value[0]) > 0.3, kind


@pytest.mark.parametrize("kind", search_lib.SEARCHES)
def test_explore_false_plays_like_greedy_search(kind):
  """`explore` switches noise per game at run time: games with False play the
  greedy search's move, games with True sample (some differ across keys)."""
  env = envs.make("connect_four")
  _, network, params = _small_network(env)
  games = 32
  states = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(2), games))
  keys = jax.random.split(jax.random.PRNGKey(3), games)
  make = functools.partial(search_lib.make_search, env, network, search=kind,
                           num_simulations=8, max_num_considered_actions=7)
  greedy = jax.jit(make(greedy=True))(params, keys, states)
  noisy = jax.jit(make())
  explore = jnp.arange(games) % 2 == 0
  mixed = noisy(params, keys, states, explore)
  np.testing.assert_array_equal(np.asarray(mixed.action[~explore]),
                                np.asarray(greedy.action[~explore]))
  sampled = noisy(params, keys, states, jnp.ones(games, bool))
  assert (np.asarray(sampled.action) != np.asarray(greedy.action)).any()


def test_value_target_mixes_game_result_and_search_value():
  env = envs.make("tic_tac_toe")
  config, network, params = _small_network(env)
  obs = jax.random.bernoulli(jax.random.PRNGKey(1), 0.3, (5,) + env.observation_shape)
  batch = replay.Batch(observation=obs, policy=jnp.ones((5, 9)) / 9,
                       value=jnp.array([1.0, -1.0, 0.0, 1.0, -1.0]),
                       search_value=jnp.array([0.2, -0.4, 0.6, -0.8, 0.0]),
                       weight=jnp.ones(5))
  _, value = network.apply(params, obs)
  for mix in (0.0, 0.25, 1.0):
    loss_fn = alphazero.make_loss_fn(dataclasses.replace(config, search_value_weight=mix),
                                     network)
    _, parts = loss_fn(params, batch)
    target = (1 - mix) * batch.value + mix * batch.search_value
    np.testing.assert_allclose(np.asarray(parts["value_loss"]),
                               np.asarray(jnp.square(value - target)), rtol=1e-5)


def test_iteration_compiles_once_and_games_carry_over(tiny_config):
  az = alphazero.AlphaZero(tiny_config, mesh=one_device_mesh())
  state = az.init()
  moves = []
  for i in range(3):   # a second trace raises inside az.step
    if i == 0:
      state, metrics = az.step(state)
    else:
      # Nothing crosses the host boundary during an iteration.
      with jax.transfer_guard("disallow"):
        state, metrics = az.step(state)
    moves.append(np.asarray(state.actor.moves).copy())
  assert az.step.num_traces == 1
  # unroll_length=3 < a tic-tac-toe game: some games are mid-way after an
  # iteration and continue (more moves) in the next one.
  assert (moves[0] > 0).any() and (moves[1] > moves[0]).any()
  assert float(metrics["games_finished"][0]) > 0   # [updates_per_step = 1]
  assert int(state.iteration) == 3


def test_go_9x9_runs_a_few_iterations():
  config = alphazero.AlphaZeroConfig(
      env_id="go_9x9", num_iterations=2, selfplay_batch_size=4, unroll_length=2,
      num_simulations=2, max_num_considered_actions=2, num_channels=4, num_blocks=1,
      replay_rows=4, train_batch_size=4, sgd_steps_per_iteration=1)
  az = alphazero.AlphaZero(config)
  state = az.init()
  for _ in range(2):
    state, metrics = az.step(state)
  assert np.isfinite(float(metrics["loss"][0]))
  assert int(np.asarray(state.actor.moves).min()) == 4   # no 9x9 game ends in 4 moves


@pytest.mark.parametrize("field,value,match", [
    ("env_id", "2048", "two-player"),
    ("env_id", "chekers", "unknown game"),
    ("selfplay_batch_size", 6, "divisible by the number of devices"),
    ("train_batch_size", 12, "multiple of --selfplay_batch_size"),
    ("search", "alphabeta", "not one of"),
    ("num_simulations", 0, "at least 1"),
    ("search_value_weight", 1.5, "in \\[0, 1\\]"),
    ("sample_moves", -1, "at least 0"),
    ("learning_rate", float("nan"), "finite"),
])
def test_bad_configs_fail_before_compiling(tiny_config, field, value, match):
  bad = dataclasses.replace(tiny_config, **{field: value})
  with pytest.raises(ValueError, match=match):
    alphazero.validate(bad, num_devices=4)
