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
from conftest import one_device_mesh, step_on_one_and_four_devices


@pytest.mark.slow(seconds=40)
def test_four_devices_match_one_device(tiny_config):
  """Same global batch and seed: 4-way data parallel == 1 device."""
  assert jax.device_count() == 4
  (s1, m1), (s4, m4) = step_on_one_and_four_devices(alphazero.AlphaZero, tiny_config,
                                                    steps=2, min_moved=1e-3)
  # Self-play is the same game for game: every game's keys depend on its
  # global index (policies differ only by float reduction order).
  np.testing.assert_array_equal(np.asarray(s1.actor.replay.observation),
                                np.asarray(s4.actor.replay.observation))
  np.testing.assert_array_equal(np.asarray(s1.actor.episode), np.asarray(s4.actor.episode))
  np.testing.assert_allclose(np.asarray(s1.actor.replay.policy),
                             np.asarray(s4.actor.replay.policy), atol=1e-5)
  assert float(m1["games_finished"][0]) == float(m4["games_finished"][0])


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
                       weight=jnp.ones(5), reply_policy=jnp.zeros((5, 9)))
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
    ("fast_search_fraction", 1.5, "in \\[0, 1\\]"),
    ("random_opening_moves", -2, "at least 0"),
])
def test_bad_configs_fail_before_compiling(tiny_config, field, value, match):
  bad = dataclasses.replace(tiny_config, **{field: value})
  with pytest.raises(ValueError, match=match):
    alphazero.validate(bad, num_devices=4)


def test_fast_search_must_be_cheaper_than_the_full_search(tiny_config):
  bad = dataclasses.replace(tiny_config, fast_search_fraction=0.5, fast_simulations=4)
  with pytest.raises(ValueError, match="--fast_simulations=4 must be less than"):
    alphazero.validate(bad, num_devices=4)


def test_replay_gives_each_position_the_opponents_reply():
  buf = replay.init(num_slots=1, rows=4, observation_shape=(1,),
                    observation_dtype=jnp.float32, num_actions=3)
  policies = jnp.eye(3)
  for move, episode in enumerate([0, 0, 0]):      # one game of three moves
    buf = replay.add(buf, jnp.zeros((1, 1)), policies[move][None], jnp.array([move % 2]),
                     jnp.array([episode]), search_value=jnp.zeros(1))
  buf = replay.backfill(buf, jnp.array([True]), jnp.array([[1.0, -1.0]]), jnp.array([0]))
  batch = replay.sample(buf, jax.random.split(jax.random.PRNGKey(0), 1), per_slot=64)
  for policy, reply in zip(np.asarray(batch.policy), np.asarray(batch.reply_policy)):
    move = int(policy.argmax())
    # The reply is the next move's policy; the game's last position has none.
    expected = np.zeros(3) if move == 2 else np.eye(3)[move + 1]
    np.testing.assert_array_equal(reply, expected)
  assert {int(p.argmax()) for p in np.asarray(batch.policy)} == {0, 1, 2}


def _replay_after(config, iterations=1):
  az = alphazero.AlphaZero(config, mesh=one_device_mesh())
  state = az.init()
  for _ in range(iterations):
    state, metrics = az.step(state)
  return state.actor.replay, metrics


def test_playout_cap_randomization_trains_the_policy_on_full_searches_only(tiny_config):
  config = dataclasses.replace(tiny_config, num_simulations=8, fast_simulations=2,
                               unroll_length=8, replay_rows=8)
  full, _ = _replay_after(config)
  fast_only, _ = _replay_after(dataclasses.replace(config, fast_search_fraction=1.0))
  mixed, metrics = _replay_after(dataclasses.replace(config, fast_search_fraction=0.5))
  has_policy = lambda buf: np.asarray(buf.policy).sum(-1) > 0.5   # [slots, rows]
  assert has_policy(full).all()
  assert not has_policy(fast_only).any()
  # One draw per move for every game: a row of the ring is all full or all fast.
  rows = has_policy(mixed)
  assert (rows.all(axis=0) | ~rows.any(axis=0)).all()
  assert 0 < rows[0].sum() < rows.shape[1]
  assert np.isfinite(float(metrics["loss"][0]))


def test_random_openings_are_played_but_not_stored(tiny_config):
  config = dataclasses.replace(tiny_config, unroll_length=9, replay_rows=9,
                               random_opening_moves=3)
  buf, _ = _replay_after(config)
  episode = np.asarray(buf.episode)
  # Every game's first 0-3 moves are written as episode -1 (never sampled),
  # and some games do open randomly.
  assert (episode == -1).any()
  assert not (np.asarray(buf.has_target) & (episode == -1)).any()
  plain, _ = _replay_after(dataclasses.replace(tiny_config, unroll_length=9,
                                               replay_rows=9))
  assert not (np.asarray(plain.episode) == -1).any()


def test_reply_head_and_global_pooling_train(tiny_config):
  config = dataclasses.replace(tiny_config, reply_head=True, global_pool=True,
                               unroll_length=9, replay_rows=9)
  az = alphazero.AlphaZero(config, mesh=one_device_mesh())
  params = az.init().train.params["params"]
  assert any("Dense" in name for name in params["ResidualBlock_0"])   # the pooling bias
  _, metrics = _replay_after(config)
  assert float(metrics["reply_loss"][0]) > 0
  # The players never see the reply head: (logits, value) as before.
  logits, value = az.network.apply(az.init().train.params,
                                   jnp.zeros((2,) + az.env.observation_shape))
  assert logits.shape == (2, 9) and value.shape == (2,)


def test_play_budget_is_the_agents_default(tmp_path):
  import agents
  from conftest import untrained_checkpoint
  untrained_checkpoint(str(tmp_path / "a"), "tic_tac_toe", num_simulations=4)
  untrained_checkpoint(str(tmp_path / "b"), "tic_tac_toe", num_simulations=4,
                       play_simulations=32)
  assert agents.load_agent(str(tmp_path / "a")).num_simulations == 4
  assert agents.load_agent(str(tmp_path / "b")).num_simulations == 32
  assert agents.load_agent(str(tmp_path / "b"), num_simulations=2).num_simulations == 2


def test_periodic_evaluations_search_with_the_self_play_budget(tiny_config):
  # A large play budget is for the finished agent; the launcher's evaluations
  # during training keep the self-play cost.
  config = dataclasses.replace(tiny_config, num_simulations=4, play_simulations=800)
  az = alphazero.AlphaZero(config, mesh=one_device_mesh())
  assert az.evaluator(games=2, uct_simulations=0).agent.num_simulations == 4
  assert alphazero.search_player(config, az.env, az.network, None).num_simulations == 800


@pytest.mark.slow(seconds=60)
def test_ownership_head_trains_on_consistent_final_position_targets(tiny_config):
  config = dataclasses.replace(tiny_config, env_id="go_5x5", ownership_head=True,
                               unroll_length=16, replay_rows=16, num_simulations=2,
                               max_num_considered_actions=2)
  alphazero.validate(config, num_devices=1)
  buf, metrics = _replay_after(config, iterations=3)
  assert float(metrics["ownership_loss"][0]) > 0 and float(metrics["score_loss"][0]) > 0
  done = np.asarray(buf.has_target)
  assert done.sum() > 0, "no game finished: make the unroll longer"
  score, value = np.asarray(buf.score)[done], np.asarray(buf.value)[done]
  ownership = np.asarray(buf.ownership, float)[done]
  # From the mover's side: the margin (komi counted) wins the game exactly
  # when it is positive (pgx gives an exact tie to white)...
  assert ((score > 0) == (value > 0)).all()
  # ...and it is the owned points minus komi, from the same side.
  komi = envs.make("go_5x5").komi
  np.testing.assert_allclose(np.abs(score * 25 - ownership.sum(-1)), komi, atol=1e-4)
  # Games without the head keep the checkpoint layout they always had.
  plain = dataclasses.replace(config, ownership_head=False)
  az = alphazero.AlphaZero(plain, mesh=one_device_mesh())
  state = alphazero.init_run_state(plain, az.env, az.network, az.optimizer)
  assert state.actor.replay.ownership is None and state.actor.replay.score is None


def test_ownership_moves_with_the_board_under_augmentation():
  # An ownership target equal to the first observation plane must stay
  # equal to it under every one of the 8 symmetries.
  n, size = 64, 5
  observation = jax.random.bernoulli(jax.random.PRNGKey(0), 0.5, (n, size, size, 3))
  ownership = observation[..., 0].reshape(n, -1).astype(jnp.float32)
  policy = jax.nn.one_hot(jnp.arange(n) % (size * size + 1), size * size + 1)
  batch = replay.Batch(observation=observation, policy=policy, value=jnp.zeros(n),
                       search_value=jnp.zeros(n), weight=jnp.ones(n), reply_policy=policy,
                       ownership=ownership, score=jnp.zeros(n))
  out = alphazero.augment_batch("go_5x5", jax.random.split(jax.random.PRNGKey(1), n), batch)
  np.testing.assert_array_equal(out.ownership, out.observation[..., 0].reshape(n, -1))
  assert not np.array_equal(out.observation, observation)  # some examples did move
  # The pass (last action) never moves.
  np.testing.assert_array_equal(out.policy[:, -1], policy[:, -1])


def test_ownership_head_needs_go_and_the_conv_torso(tiny_config):
  with pytest.raises(ValueError, match="--ownership_head needs Go"):
    alphazero.validate(dataclasses.replace(tiny_config, ownership_head=True), num_devices=1)
