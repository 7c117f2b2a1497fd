"""MuZero: value transforms and targets against hand-computed numbers, the
segment replay, the trainer contract (one compilation, 4 devices == 1,
exact resume, load_agent), bad flags, and learning on CartPole."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import agents
from agents import muzero
from agents.configs import MuZeroConfig
from conftest import (assert_trees_close, one_device_mesh, run_launcher,
                      step_on_one_and_four_devices)
from zerogo import loop, metrics as metrics_lib, segments, targets


def tiny(**overrides) -> MuZeroConfig:
  return MuZeroConfig(**{**dict(
      env_id="CartPole-v1", seed=3, num_iterations=4, num_envs=8, unroll_length=4,
      num_simulations=4, max_num_considered_actions=2, latent_size=16, num_blocks=1,
      support_size=5, replay_rows=24, num_unroll_steps=2, td_steps=3, train_batch_size=16,
      sgd_steps_per_iteration=2, warmup_steps=1, target_update_every=3), **overrides})


# --- pure helpers -------------------------------------------------------------

def test_value_transform_hand_computed_and_inverse():
  # h(3) = sqrt(4) - 1 + 0.001 * 3;  h(-8) = -(sqrt(9) - 1) - 0.008
  np.testing.assert_allclose(np.asarray(targets.scale_value(jnp.array([3.0, -8.0, 0.0]))),
                             [1.003, -2.008, 0.0], rtol=1e-6)
  x = jnp.array([-300.0, -1.5, -0.01, 0.0, 0.2, 7.0, 450.0])
  np.testing.assert_allclose(np.asarray(targets.unscale_value(targets.scale_value(x))),
                             np.asarray(x), rtol=1e-4, atol=1e-4)


def test_optimizer_builds_without_warm_up_for_a_single_sgd_step():
  # --warmup_steps=0 with one SGD step in all (a tiny run) once left optax a cosine decay
  # of 0 steps, which it refuses ("requires positive decay_steps").
  from zerogo import learner
  params = {"w": jnp.ones(2)}
  for warmup, total in ((0, 1), (0, 0), (3, 1), (1, 2)):
    optimizer = learner.make_optimizer(learning_rate=1e-3, weight_decay=0.0,
                                       warmup_steps=warmup, total_steps=total)
    updates, _ = optimizer.update(params, optimizer.init(params), params)
    assert np.isfinite(np.asarray(updates["w"])).all()


def test_two_hot_support_hand_computed():
  # h(3) = 1.003 on atoms -2..2: 0.997 on atom 1, 0.003 on atom 2.
  probs = targets.to_categorical(jnp.array([3.0, 1e6, -1e6]), support_size=2)
  np.testing.assert_allclose(np.asarray(probs[0]), [0, 0, 0, 0.997, 0.003], atol=1e-5)
  np.testing.assert_allclose(np.asarray(probs[1]), [0, 0, 0, 0, 1])   # clipped to +S
  np.testing.assert_allclose(np.asarray(probs[2]), [1, 0, 0, 0, 0])
  # The mean atom maps back to the scalar (inside the support).
  x = jnp.array([-5.0, -0.3, 0.0, 2.5, 9.0])
  back = targets.from_categorical(jnp.log(targets.to_categorical(x, 3) + 1e-30), 3)
  np.testing.assert_allclose(np.asarray(back), np.asarray(x), rtol=1e-4, atol=1e-4)


def test_n_step_values_hand_computed():
  rewards, bootstrap = jnp.array([1.0, 2.0, 3.0]), jnp.array([10.0, 20.0])
  # No episode end: z0 = 1 + 0.9 * 2 + 0.81 * 10, z1 = 2 + 0.9 * 3 + 0.81 * 20.
  z = targets.n_step_values(rewards, jnp.zeros(3, bool), bootstrap, discount=0.9,
                            td_steps=2, num_targets=2)
  np.testing.assert_allclose(np.asarray(z), [10.9, 20.9], rtol=1e-6)
  # The episode ends with row 1's action: z0 = 1 + 0.9 * 2, z1 = 2 (nothing after).
  z = targets.n_step_values(rewards, jnp.array([False, True, False]), bootstrap,
                            discount=0.9, td_steps=2, num_targets=2)
  np.testing.assert_allclose(np.asarray(z), [2.8, 2.0], rtol=1e-6)
  # Two players (discount -1): row 1's mover wins with its move; row 0's mover
  # (the other player) lost.
  z = targets.n_step_values(jnp.array([0.0, 1.0, 0.0]), jnp.array([False, True, False]),
                            bootstrap, discount=-1.0, td_steps=2, num_targets=2)
  np.testing.assert_allclose(np.asarray(z), [-1.0, 1.0])


def test_segments_are_consecutive_written_rows_across_the_ring_wrap():
  buf = segments.init(num_slots=2, rows=5, observation_shape=(1,),
                      observation_dtype=jnp.float32, num_actions=2)
  key = jax.random.split(jax.random.PRNGKey(0), 2)
  add = jax.jit(segments.add)
  sample = jax.jit(segments.sample, static_argnums=(2, 3))
  for t in range(2):
    buf = add(buf, observation=jnp.full((2, 1), t), action=jnp.full(2, t),
                       reward=jnp.zeros(2), done=jnp.zeros(2, bool),
                       policy=jnp.ones((2, 2)) / 2, legal=jnp.ones((2, 2), bool))
  assert not bool(sample(buf, key, 4, 3).valid.any())   # 2 rows < 3
  for t in range(2, 8):   # rows 0..7 written into a ring of 5: 3..7 remain
    buf = add(buf, observation=jnp.full((2, 1), t), action=jnp.full(2, t),
                       reward=jnp.zeros(2), done=jnp.zeros(2, bool),
                       policy=jnp.ones((2, 2)) / 2, legal=jnp.ones((2, 2), bool))
  seg = sample(buf, key, 64, 3)
  actions = np.asarray(seg.action).reshape(-1, 3)
  assert bool(seg.valid.all())
  np.testing.assert_array_equal(actions[:, 1:] - actions[:, :-1], 1)
  assert set(actions[:, 0]) == {3, 4, 5}


# --- the trainer ----------------------------------------------------------------

def test_iteration_compiles_once_and_learns_from_its_replay():
  mz = muzero.MuZero(tiny(), mesh=one_device_mesh())
  state = mz.init()
  for i in range(4):
    if i == 0:
      state, m = mz.step(state)
    else:
      with jax.transfer_guard("disallow"):   # nothing crosses the host boundary
        state, m = mz.step(state)
  assert mz.step.num_traces == 1
  assert int(state.iteration) == 4 and int(state.train.step) == 8
  assert float(m["loss"][0]) > 0 and np.isfinite(float(m["loss"][0]))
  # The target network was refreshed at SGD step 6 (every 3): not the init.
  init = mz.init()
  assert any(not np.allclose(a, b) for a, b in zip(
      jax.tree.leaves(jax.device_get(init.target_params)),
      jax.tree.leaves(jax.device_get(state.target_params))))


@pytest.mark.slow(seconds=90)
def test_four_devices_match_one_device():
  """Two-player model, PUCT and reanalyse searches all keyed by global slot index."""
  config = tiny(env_id="tic_tac_toe", gamma=1.0, reanalyse_fraction=0.5, search="puct")
  (s1, _), (s4, _) = step_on_one_and_four_devices(muzero.MuZero, config, steps=3,
                                                  min_moved=1e-4)
  np.testing.assert_array_equal(np.asarray(s1.actor.replay.action),
                                np.asarray(s4.actor.replay.action))
  np.testing.assert_allclose(np.asarray(s1.actor.replay.policy),
                             np.asarray(s4.actor.replay.policy), atol=1e-5)


def test_resume_is_exact_and_the_checkpoint_loads_as_an_agent(tmp_path):
  config = tiny(num_iterations=6)
  trainer = muzero.MuZero(config)   # one compiled program for all three runs
  options = dict(log_every=1, checkpoint_every=3, eval_every=0, progress=False)
  straight = loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "a"), **options))
  loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "b"), stop_at=3, **options))
  resumed = loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "b"), **options))
  for a, b in zip(jax.tree.leaves(jax.device_get(straight)),
                  jax.tree.leaves(jax.device_get(resumed)), strict=True):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  rows = metrics_lib.read_jsonl(str(tmp_path / "b" / "metrics.jsonl"))
  assert [r["iteration"] for r in rows] == [1, 2, 3, 4, 5, 6]
  assert rows[-1]["env_steps"] == 6 * config.steps_per_iteration
  agent = agents.load_agent(str(tmp_path / "b"))
  assert agent.name == "muzero@6" and agent.num_simulations == config.num_simulations
  assert_trees_close(agent.params, jax.device_get(resumed.train.params), rtol=0, atol=0)
  states = jax.vmap(agent.env.init)(jax.random.split(jax.random.PRNGKey(1), 3))
  actions = np.asarray(jax.jit(agent.act)(states, jax.random.PRNGKey(2)))
  assert actions.shape == (3,) and set(actions) <= {0, 1}
  raw = agents.load_agent(str(tmp_path / "b"), num_simulations=0)
  assert raw.num_simulations == 0


@pytest.mark.parametrize("field,value,match", [
    ("env_id", "minatar-pong", "unknown game"),
    ("env_id", "kuhn_poker", "neither"),
    ("num_envs", 6, "divisible by the number of devices"),
    ("train_batch_size", 20, "multiple of --num_envs"),
    ("replay_rows", 10, "must be at least 12, twice the rows"),
    ("search", "alphabeta", "not one of"),
    ("torso", "conv", "needs grid observations"),
    ("reanalyse_fraction", 0.1, "reanalyses no segment"),
    ("reanalyse_fraction", 1.5, "in \\[0, 1\\]"),
    ("gamma", float("nan"), "finite"),
])
def test_bad_configs_fail_before_compiling(field, value, match):
  with pytest.raises(ValueError, match=match):
    muzero.validate(dataclasses.replace(tiny(), **{field: value}), num_devices=4)


def test_sticky_actions_only_for_gymnax_games():
  with pytest.raises(ValueError, match="sticky_action_prob is for"):
    muzero.validate(tiny(env_id="tic_tac_toe", sticky_action_prob=0.1), num_devices=1)
  env = muzero.make_env(tiny(env_id="minatar-breakout"))
  assert env.sticky_action_prob == 0.1   # on by default for MinAtar


def test_launcher_bad_flag_is_one_sentence(tmp_path):
  proc = run_launcher("muzero.py", f"--workdir={tmp_path}/w", "--num_envs=3", devices=2,
                      check=False)
  assert proc.returncode == 2
  assert "must be divisible by the number of devices" in proc.stderr
  assert "Traceback" not in proc.stderr


@pytest.mark.slow(seconds=120)
@pytest.mark.optimized
def test_cartpole_flagfile_learns_far_above_random(tmp_path):
  """The shipped recipe at a third of its SGD steps: 200 iterations (25,600
  env steps) of 4 SGD steps. A random policy balances for about 22 steps;
  the greedy search agent must balance for hundreds (seeds 0-2 gave 371,
  494 and 315 over 64 episodes; the full recipe 470, 499, 440;
  results/muzero/README.md)."""
  proc = run_launcher("muzero.py", "--flagfile=launch/configs/muzero_cartpole.flags",
                      f"--workdir={tmp_path}", "--num_iterations=200",
                      "--sgd_steps_per_iteration=4", "--eval_every=200", "--progress=false",
                      timeout=900)
  summary = [l for l in proc.stdout.splitlines() if "greedy return over" in l]
  assert summary and float(summary[0].split(": ")[1].split()[0]) >= 250, proc.stdout
  rows = metrics_lib.read_jsonl(str(tmp_path / "metrics.jsonl"))
  assert rows[-1]["env_steps"] == 25_600
  assert rows[-1]["eval/episode_return"] >= 250
  assert max(r.get("episode_return", 0) for r in rows) >= 300


@pytest.mark.slow(seconds=120)
@pytest.mark.optimized
def test_tic_tac_toe_model_of_both_players_beats_random(tmp_path):
  """Two players in one learned model (mover's-side values, discount -1): the
  first 200 iterations of the shipped recipe beat a random player, which an
  untrained agent scores about 0.5 against (measured 0.875 over these 128
  games; at 100 iterations 0.69-0.7, too close to the bar to be a stable
  test; the full 300 reach 0.88 over 64 games; results/muzero/README.md)."""
  from agents import baselines
  from zerogo import arena
  run_launcher("muzero.py", "--flagfile=launch/configs/muzero_tic_tac_toe.flags",
               f"--workdir={tmp_path}", "--num_iterations=200", "--eval_every=0",
               "--progress=false", "--nosummary", timeout=900)
  agent = agents.load_agent(str(tmp_path))
  assert agent.env_id == "tic_tac_toe" and agent.name == "muzero@200"
  result = arena.play_match(agent, baselines.random_agent(agent.env),
                            jax.random.PRNGKey(5), 128).summary()
  assert result["score"] >= 0.7, result
