"""Logged play (Minari datasets) and offline RL (behaviour cloning, CQL)."""

import dataclasses
import os

import jax
import numpy as np
import pytest
from conftest import assert_trees_close, one_device_mesh, run_launcher

import agents
from agents import behaviour, offline, ppo
from agents.configs import OfflineConfig, PPOConfig
from zerogo import arena, offline_data

minari = pytest.importorskip("minari")
ENV = "minatar-breakout"
NET = {"torso": "mlp", "hidden": 64, "num_layers": 2, "activation": "relu"}


@pytest.fixture(scope="module")
def tracker_dataset(tmp_path_factory):
  """40 episodes of the ball-tracking player, 20% random moves."""
  root = str(tmp_path_factory.mktemp("datasets"))
  env = ppo.make_env(PPOConfig(env_id=ENV))
  policy = behaviour.make("breakout_tracker:0.8,random:0.2", env)
  episodes = offline_data.log_episodes(env, policy, jax.random.PRNGKey(0), 40,
                                       max_steps=300, batch=40)
  path = offline_data.write_minari(root, "zerogo/breakout/tracker-v0", episodes, env_id=ENV,
                                   num_actions=env.num_actions, algorithm_name="tracker",
                                   description="test")
  return root, path, episodes


def test_logged_dataset_opens_in_minari(tracker_dataset, monkeypatch):
  root, path, episodes = tracker_dataset
  monkeypatch.setenv("MINARI_DATASETS_PATH", root)
  dataset = minari.load_dataset("zerogo/breakout/tracker-v0")
  assert dataset.total_episodes == 40
  assert dataset.total_steps == sum(len(e.actions) for e in episodes)
  first = next(dataset.iterate_episodes())
  assert first.observations.shape == (len(first.actions) + 1, 10, 10, 4)
  probs = first.infos["action_probs"]
  np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
  # The logged action always had positive probability under the behaviour policy.
  assert (probs[np.arange(len(first.actions)), first.actions] > 0).all()
  assert first.terminations[-1] or first.truncations[-1]
  returns = [float(np.sum(ep.rewards)) for ep in dataset.iterate_episodes()]
  np.testing.assert_allclose(sorted(returns), sorted(e.episode_return for e in episodes))
  transitions = offline_data.read_transitions(path)
  assert transitions.observation.shape == transitions.next_observation.shape
  assert transitions.terminated.sum() >= 30


@pytest.mark.slow(seconds=30)  # with the suite running beside it: 14 s (bc), 5 s (cql)
@pytest.mark.parametrize("algorithm", ["bc", "cql"])
def test_offline_agent_learns_to_play_from_a_tiny_dataset(tracker_dataset, algorithm):
  _, path, episodes = tracker_dataset
  config = OfflineConfig(env_id=ENV, dataset=path, algorithm=algorithm, num_steps=400,
                         steps_per_call=50, batch_size=64, learning_rate=1e-3, **NET)
  trainer = offline.Offline(config, one_device_mesh())
  state = trainer.init()
  for _ in range(config.num_steps // config.steps_per_call):
    state, metrics = trainer.step(state)
  assert np.isfinite(np.asarray(metrics["loss"])).all()
  agent = trainer.evaluator(games=1, uct_simulations=0).agent
  params = jax.tree.map(lambda x: x[0], jax.device_get(trainer.params(state)))
  trained = jax.device_get(arena.episodes(dataclasses.replace(agent, params=params),
                                          jax.random.PRNGKey(1), 16)[0])
  initial = jax.tree.map(lambda x: x[0], jax.device_get(trainer.params(trainer.init())))
  untrained = jax.device_get(arena.episodes(dataclasses.replace(agent, params=initial),
                                            jax.random.PRNGKey(1), 16)[0])
  # A random player scores about 0.4 a game; the data about 4.
  assert trained.mean() > 1.5 and trained.mean() > untrained.mean() + 1, (
      trained.mean(), untrained.mean())


@pytest.mark.slow(seconds=80)
def test_offline_checkpoint_loads_and_seeds_ppo(tracker_dataset, tmp_path):
  _, path, _ = tracker_dataset
  workdir = str(tmp_path / "bc")
  flags = [f"--{k}={v}" for k, v in NET.items()]
  run_launcher("offline.py", f"--env={ENV}", f"--dataset={path}", "--algorithm=bc",
               "--num_steps=20", "--steps_per_call=10", "--batch_size=32", "--eval_every=20",
               "--eval_episodes=2", "--num_seeds=2", f"--workdir={workdir}", "--noprogress",
               "--nosummary", *flags)
  agent = agents.load_agent(workdir, seed_index=1)
  assert agent.env_id == ENV and agent.name == "bc@20/seed_1"
  # PPO starts every seed from seed i's policy (2 seeds from 2 seeds).
  config = PPOConfig(env_id=ENV, num_envs=4, num_steps=8, num_minibatches=2, num_seeds=2,
                     init_from=workdir, **NET)
  trainer = ppo.PPO(config, one_device_mesh())
  params = jax.device_get(trainer.params(trainer.init()))
  assert_trees_close(jax.tree.map(lambda x: x[1], params), agent.params)
  bad = run_launcher("ppo.py", f"--env={ENV}", f"--init_from={workdir}",
                     f"--workdir={tmp_path / 'ppo'}", "--torso=mlp", "--hidden=32",
                     "--activation=relu", check=False)
  assert bad.returncode == 2
  assert bad.stderr.strip().splitlines() == [
      f"error: --init_from={workdir} holds a network trained with --hidden=64, but this run "
      "asks for --hidden=32; use the same network flags (--env, --torso, --hidden, "
      "--num_layers, --activation, --mirror_symmetry, --shared_torso, --column_features, "
      "--column_heads)"]


def test_bad_input_is_one_sentence(tmp_path):
  proc = run_launcher("log_play.py", f"--env={ENV}", "--behaviour=breakout_tracker:0.5,nope",
                      f"--out={tmp_path}", "--dataset_id=a/b-v0", check=False)
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines()[-1].startswith(
      "error: --behaviour: unknown component 'nope'")
  proc = run_launcher("offline.py", f"--env={ENV}", f"--dataset={tmp_path}",
                      f"--workdir={tmp_path / 'w'}", check=False)
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines() == [
      f"error: --dataset={tmp_path} is not a Minari dataset directory (no data/ in it)"]
  assert not os.path.exists(tmp_path / "w" / "checkpoints")
