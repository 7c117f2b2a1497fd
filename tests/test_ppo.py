"""PPO: MinAtar/CartPole env behaviour, data parallelism, seeds, resume,
self-play on board games, and learning."""

import os
import signal

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents import ppo
from zerogo import loop
from conftest import assert_trees_close, one_device_mesh, run_launcher
from envs import minatar, symmetry
from zerogo import metrics as metrics_lib, preemption


def tiny(**overrides) -> ppo.PPOConfig:
  base = dict(env_id="CartPole-v1", seed=1, total_steps=4 * 16 * 4, num_envs=4, num_steps=16,
              num_epochs=2, num_minibatches=2, hidden=16, learning_rate=1e-3)
  return ppo.PPOConfig(**{**base, **overrides})


def _params_after(config, mesh, updates):
  trainer = ppo.PPO(config, mesh)
  state = trainer.init()
  for _ in range(updates):
    state, metrics = trainer.step(state)
  return jax.device_get(state.train.params), jax.device_get(metrics)


# --- environments -----------------------------------------------------------

def test_minatar_games_are_registered_single_player():
  names = set(envs.list_envs("minatar"))
  assert names == {"minatar-breakout", "minatar-asterix", "minatar-freeway",
                   "minatar-space_invaders", "minatar-seaquest"}
  env = envs.make("minatar-breakout")
  assert env.num_players == 1 and env.observation_shape == (10, 10, 4)
  assert env.sticky_action_prob == 0.1 and envs.make("CartPole-v1").sticky_action_prob == 0.0


def test_sticky_actions_repeat_the_last_action_at_the_given_rate():
  env = minatar.make("minatar-breakout", sticky_action_prob=0.25)
  state = env.init(jax.random.PRNGKey(0)).replace(last_action=jnp.int32(2))
  keys = jax.random.split(jax.random.PRNGKey(1), 4000)
  taken = jax.jit(jax.vmap(env.step, (None, None, 0)))(state, jnp.int32(1), keys).last_action
  repeated = float((taken == 2).mean())
  assert set(np.unique(np.asarray(taken))) == {1, 2}
  assert abs(repeated - 0.25) < 0.03, repeated
  never = minatar.make("minatar-breakout", sticky_action_prob=0.0)
  taken = jax.jit(jax.vmap(never.step, (None, None, 0)))(state, jnp.int32(1), keys).last_action
  assert bool((taken == 1).all())


def test_time_limit_is_truncation_not_termination_and_finished_is_a_no_op():
  env = envs.make("CartPole-v1")
  state = env.init(jax.random.PRNGKey(0))
  # One step before the 500-step limit, pole upright: the next step truncates.
  state = state.replace(inner=state.inner.replace(time=499))
  step = jax.jit(env.step)
  after = step(state, jnp.int32(0), jax.random.PRNGKey(1))
  assert bool(after.truncated) and not bool(after.terminated)
  assert float(after.rewards[0]) == 1.0
  again = step(after, jnp.int32(1), jax.random.PRNGKey(2))
  np.testing.assert_array_equal(np.asarray(again.observation), np.asarray(after.observation))
  assert float(again.rewards[0]) == 0.0 and bool(again.truncated)


# --- the update: devices, seeds, resume -------------------------------------

def test_value_clipping_stops_the_value_at_clip_eps_from_the_rollout():
  old, target = jnp.float32(0.0), jnp.float32(2.0)
  grad = jax.grad(ppo.value_error)
  # Unclipped: plain half squared error, pulled to the target all the way.
  assert float(ppo.value_error(jnp.float32(1.0), old, target, None)) == pytest.approx(0.5)
  assert float(grad(jnp.float32(1.0), old, target, None)) == pytest.approx(-1.0)
  # Clipped: within +-0.2 of the rollout's value it is the same loss...
  assert float(grad(jnp.float32(0.1), old, target, 0.2)) == pytest.approx(-1.9)
  # ...beyond it the value is scored as if it had stopped at 0.2: no gradient.
  assert float(ppo.value_error(jnp.float32(1.0), old, target, 0.2)) == pytest.approx(
      0.5 * 1.8 ** 2)
  assert float(grad(jnp.float32(1.0), old, target, 0.2)) == 0.0
  # Moving away from the target is never clipped.
  assert float(grad(jnp.float32(-1.0), old, target, 0.2)) == pytest.approx(-3.0)


@pytest.mark.slow(seconds=30)
def test_four_devices_match_one_device():
  # Self-play tic-tac-toe: opponents, pool and masking are on the path too.
  config = tiny(env_id="tic_tac_toe", num_envs=8)
  one, m1 = _params_after(config, one_device_mesh(), 2)
  four, m4 = _params_after(config, jax.make_mesh((4,), ("data",)), 2)
  assert_trees_close(one, four, rtol=2e-4, atol=2e-5)
  np.testing.assert_allclose(m1["loss"], m4["loss"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sampling", ["steps", "transitions"])
def test_minibatches_hold_every_transition_once_and_every_env_equally(sampling):
  config = tiny(num_steps=8, num_minibatches=4, minibatch_sampling=sampling)
  T, E = 8, 5
  data = {"id": jnp.arange(T)[:, None] * 100 + jnp.arange(E)[None, :],      # [T, E]
          "obs": jnp.broadcast_to(jnp.arange(T)[:, None, None], (T, E, 3))}
  env_keys = jax.random.split(jax.random.PRNGKey(3), E)
  mbs = jax.device_get(ppo.split_minibatches(data, config, jax.random.PRNGKey(4), env_keys))
  ids = mbs["id"]
  assert ids.shape == (4, 2 * E) and mbs["obs"].shape == (4, 2 * E, 3)
  assert sorted(ids.ravel()) == sorted(np.asarray(data["id"]).ravel())  # each (t, e) once
  np.testing.assert_array_equal(mbs["obs"][..., 0], ids // 100)         # rows stay whole
  steps_of_env = [[sorted(row[row % 100 == e] // 100) for e in range(E)] for row in ids]
  assert all(len(steps) == 2 for row in steps_of_env for steps in row)   # 2 steps per env
  same_steps = all(all(s == row[0] for s in row) for row in steps_of_env)
  assert same_steps == (sampling == "steps")


def test_transition_sampling_four_devices_match_one_device():
  config = tiny(num_envs=8, minibatch_sampling="transitions")
  one, _ = _params_after(config, one_device_mesh(), 2)
  four, _ = _params_after(config, jax.make_mesh((4,), ("data",)), 2)
  assert_trees_close(one, four, rtol=2e-4, atol=2e-5)
  steps, _ = _params_after(tiny(num_envs=8), one_device_mesh(), 2)
  assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(one),
                                                    jax.tree.leaves(steps)))


def test_seeds_are_independent_agents_in_one_program():
  two, _ = _params_after(tiny(num_seeds=2, total_steps=4 * 16 * 2), one_device_mesh(), 2)
  config = tiny(num_seeds=1, total_steps=4 * 16 * 2)
  train = ppo.make_train(config, one_device_mesh())
  state, metrics = train()
  assert metrics["loss"].shape == (2, 1)
  one = jax.device_get(state.train.params)
  # train(key) draws everything from key; config.seed is the default key.
  again, _ = train(jax.random.PRNGKey(config.seed))
  assert_trees_close(one, jax.device_get(again.train.params), rtol=0, atol=0)
  other, _ = train(jax.random.PRNGKey(config.seed + 1))
  assert any(not np.allclose(a, b) for a, b in zip(
      jax.tree.leaves(one), jax.tree.leaves(jax.device_get(other.train.params))))
  assert_trees_close(jax.tree.map(lambda x: x[0], two), jax.tree.map(lambda x: x[0], one),
                     rtol=1e-5, atol=1e-6)
  first, second = (jax.tree.leaves(jax.tree.map(lambda x: x[i], two)) for i in (0, 1))
  assert any(not np.allclose(a, b) for a, b in zip(first, second))


def test_resume_is_exact(tmp_path):
  # Self-play on tic-tac-toe: covers the snapshot pool and the opponents too.
  config = tiny(env_id="tic_tac_toe", total_steps=4 * 16 * 6, snapshot_every=2, pool_size=2)
  trainer = ppo.PPO(config)   # one compiled program for all three runs
  options = dict(log_every=1, checkpoint_every=3, eval_every=0, progress=False)
  straight = loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "a"), **options))
  loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "b"), stop_at=3, **options))
  resumed = loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "b"), **options))
  assert int(straight.update) == int(resumed.update) == 6
  assert int(jax.device_get(resumed.pool_count)[0]) == 4  # initial + updates 2, 4, 6
  assert_trees_close(jax.device_get(straight.train.params),
                     jax.device_get(resumed.train.params), rtol=0, atol=0)
  rows = metrics_lib.read_jsonl(str(tmp_path / "b" / "metrics.jsonl"))
  assert [r["iteration"] for r in rows] == [1, 2, 3, 4, 5, 6]


def test_mirror_symmetry_checkpoint_loads_as_the_equivariant_network(tmp_path):
  import dataclasses
  import agents
  config = tiny(mirror_symmetry=True)
  trainer = ppo.PPO(config)
  loop.run(trainer, loop.RunOptions(workdir=str(tmp_path), log_every=1,
                                    checkpoint_every=2, eval_every=0, progress=False))
  agent = agents.load_agent(str(tmp_path))
  env = agent.env
  states = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(3), 64))
  for _ in range(5):  # move off the near-symmetric start
    states = jax.vmap(env.step)(states, jnp.arange(64) % 2,
                                jax.random.split(jax.random.PRNGKey(4), 64))
  obs = jax.vmap(env.observe)(states)
  plain = ppo.make_network(dataclasses.replace(config, mirror_symmetry=False), env)
  _, value = plain.apply(agent.params, obs)
  _, mirrored_value = plain.apply(agent.params,
                                  symmetry.mirror_observations("CartPole-v1", obs))
  loaded = np.asarray(agent.value(agent.params, states))
  np.testing.assert_allclose(loaded, np.tanh(0.5 * (value + mirrored_value)),
                             rtol=1e-5, atol=1e-6)
  assert np.abs(loaded - np.tanh(value)).max() > 1e-4, "the loaded network is not the mirrored one"


def test_column_torso_trains_on_breakout_and_loads_as_that_network(tmp_path):
  """The flagfile's network (column torso + mirror, here with attention
  heads): a run's checkpoint loads with load_agent as the same network, and
  the agent plays."""
  import agents
  config = tiny(env_id="minatar-breakout", torso="column", mirror_symmetry=True,
                activation="relu", column_features=12, column_heads=2)
  trainer = ppo.PPO(config)
  loop.run(trainer, loop.RunOptions(workdir=str(tmp_path), log_every=1,
                                    checkpoint_every=2, eval_every=0, progress=False))
  agent = agents.load_agent(str(tmp_path))
  assert agent.params["params"]["ColumnConv_0"]["bias"].shape == (config.column_features,)
  assert agent.params["params"]["Dense_0"]["kernel"].shape == (config.column_features,
                                                               config.column_heads)
  states = jax.vmap(agent.env.init)(jax.random.split(jax.random.PRNGKey(3), 8))
  for i in range(6):  # away from the start, where left and right are near-symmetric
    states = jax.vmap(agent.env.step)(states, jnp.full(8, 1 + i % 2),
                                      jax.random.split(jax.random.PRNGKey(i), 8))
  network = ppo.make_network(config, agent.env)
  _, value = network.apply(agent.params, jax.vmap(agent.env.observe)(states))
  np.testing.assert_allclose(np.asarray(agent.value(agent.params, states)), np.tanh(value),
                             rtol=1e-5, atol=1e-6)
  actions = np.asarray(jax.jit(agent.act)(states, jax.random.PRNGKey(9)))
  assert actions.shape == (8,) and ((0 <= actions) & (actions < 3)).all()


def test_sigterm_saves_at_the_update_boundary_and_resumes_exactly(tmp_path, monkeypatch):
  config = tiny(env_id="tic_tac_toe", total_steps=4 * 16 * 6, snapshot_every=2, pool_size=2)
  trainer = ppo.PPO(config)
  options = dict(log_every=1, checkpoint_every=100, eval_every=0, progress=False)
  straight = loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "a"), **options))
  polls = []

  def signalled(self):  # SIGTERM "arrives" during update 3 (polled once before update 1)
    polls.append(1)
    return len(polls) >= 4
  monkeypatch.setattr(preemption.SigtermWatch, "signalled", signalled)
  with pytest.raises(preemption.Preempted, match="saved at update 3"):
    loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "b"), **options))
  monkeypatch.undo()
  resumed = loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "b"), **options))
  assert_trees_close(jax.device_get(straight.train.params),
                     jax.device_get(resumed.train.params), rtol=0, atol=0)
  rows = metrics_lib.read_jsonl(str(tmp_path / "b" / "metrics.jsonl"))
  assert [r["iteration"] for r in rows] == [1, 2, 3, 4, 5, 6]


def test_sigterm_watch_records_the_signal_instead_of_dying():
  before = signal.getsignal(signal.SIGTERM)
  with preemption.SigtermWatch() as watch:
    assert watch.poll() == (False,)
    os.kill(os.getpid(), signal.SIGTERM)
    assert watch.poll() == (True,)
  assert signal.getsignal(signal.SIGTERM) is before


# --- launcher, agents, learning ---------------------------------------------

PPO_BAD_FLAGS = [("--env=minatar-pong", "unknown game"),
                 ("--num_envs=3", "must be divisible by the number of devices"),
                 ("--num_minibatches=5", "must divide --num_steps"),
                 ("--sticky_action_prob=1.5", "sticky_action_prob must be in"),
                 ("--env=kuhn_poker --torso=cnn", "needs grid observations"),
                 ("--env=minatar-asterix --mirror_symmetry", "has no declared left-right mirror"),
                 ("--env=CartPole-v1 --torso=column", "needs grid observations"),
                 ("--torso=cnn --shared_torso", "--shared_torso is for --torso=mlp"),
                 ("--torso=mlp --column_heads=2", "--column_heads is for --torso=column"),
                 ("--torso=column --column_heads=-1", "--column_heads must be at least 0")]


@pytest.mark.parametrize("flag,message", PPO_BAD_FLAGS)
def test_bad_flags_are_one_sentence_before_anything_compiles(flag, message):
  # What launch/ppo.py runs on its flags before it builds anything (the
  # launcher test below shows such a ValueError reaches the user as one line
  # and exit 2).
  from agents.configs import PPOConfig
  from launch import _common
  with pytest.raises(ValueError) as e:
    ppo.validate(_common.config_from_args(PPOConfig, flag.split()), num_devices=2)
  assert message in str(e.value) and "\n" not in str(e.value)


def test_launcher_bad_flags_are_one_sentence(tmp_path):
  # One error raised while validating, one from absl's flag parser.
  for flag, message in [("--num_envs=3", dict(PPO_BAD_FLAGS)["--num_envs=3"]),
                        ("--minibatch_sampling=pairs", "minibatch_sampling")]:
    proc = run_launcher("ppo.py", f"--workdir={tmp_path}/w", *flag.split(), devices=2,
                        check=False)
    assert proc.returncode == 2, (flag, proc.stderr[-500:])
    assert message in proc.stderr and "Traceback" not in proc.stderr, (flag, proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.slow(seconds=25)
@pytest.mark.optimized
def test_cartpole_reaches_450_within_300k_steps(tmp_path):
  # Two seeds in one program: both must get there.
  proc = run_launcher("ppo.py", "--flagfile=launch/configs/cartpole.flags",
                      f"--workdir={tmp_path}", "--num_seeds=2", "--progress=false",
                      timeout=900)
  # The command ends by saying what the user got (seed 0's greedy return).
  summary = [l for l in proc.stdout.splitlines() if "greedy return over" in l]
  assert summary and float(summary[0].split(": ")[1].split()[0]) >= 450, proc.stdout
  rows = metrics_lib.read_jsonl(str(tmp_path / "metrics.jsonl"))
  assert rows[-1]["env_steps"] <= 300_000
  for seed in (0, 1):
    returns = [r[f"episode_return/seed_{seed}"] for r in rows
               if f"episode_return/seed_{seed}" in r]
    assert max(np.mean(returns[i:i + 3]) for i in range(len(returns) - 2)) >= 450, returns
    assert rows[-1][f"eval/episode_return/seed_{seed}"] >= 450
  flags_txt = (tmp_path / "flags.txt").read_text()
  assert flags_txt.count("--num_seeds=2") == 1
  assert "--noprogress" in flags_txt and "--anneal_lr" in flags_txt  # false booleans too


@pytest.mark.slow(seconds=25)
@pytest.mark.optimized
def test_selfplay_ppo_on_tic_tac_toe_beats_random_and_loads_as_an_agent(tmp_path):
  import agents
  from agents import baselines
  from zerogo import arena
  run_launcher("ppo.py", "--env=tic_tac_toe", f"--workdir={tmp_path}", "--seed=0",
               "--total_steps=98304", "--num_envs=64", "--num_steps=16",
               "--num_minibatches=4", "--learning_rate=3e-3", "--torso=mlp", "--hidden=64",
               "--eval_every=48", "--eval_episodes=64", "--eval_uct_simulations=0",
               "--checkpoint_every=48", "--progress=false", "--nosummary", timeout=900)
  agent = agents.load_agent(str(tmp_path))
  assert agent.env_id == "tic_tac_toe" and agent.name.startswith("ppo@")
  result = arena.play_match(agent, baselines.random_agent(agent.env),
                            jax.random.PRNGKey(5), 200).summary()
  # An untrained policy scores about 50%; random loses most games to a
  # learned one. (Tic-tac-toe allows draws, so wins alone stay below 1.)
  assert result["score"] >= 0.85 and result["losses"] <= 25, result
  with pytest.raises(ValueError, match="does not search"):
    agents.load_agent(str(tmp_path), num_simulations=8)
