"""Logged play for offline RL, in Minari's format (the Farama Foundation's
standard for offline RL datasets, readable by `minari.load_dataset` and every
tool built on it).

`log_episodes` plays whole episodes of any agent on any one-player env with
one jitted program (`vmap` over episodes, `scan` over steps) and keeps, per
step, the observation, action, reward, termination, truncation and the
behaviour policy's action probabilities (Minari `infos["action_probs"]`,
one row per observation as Minari stores infos). `write_minari` stores
episodes as a Minari dataset (HDF5); `read_transitions` turns one back into
(s, a, r, s', terminated) arrays for the offline trainers.

Minari needs the `offline` extra (`pip install -e '.[offline]'`); nothing
else in zerogo imports it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass
class Episode:
  """One episode of T steps: observations [T + 1, ...] (the last one after
  the final step), actions [T] int, rewards [T], terminations [T],
  truncations [T] bool, action_probs [T, A] (the behaviour policy's)."""
  observations: np.ndarray
  actions: np.ndarray
  rewards: np.ndarray
  terminations: np.ndarray
  truncations: np.ndarray
  action_probs: np.ndarray

  @property
  def episode_return(self) -> float:
    return float(self.rewards.sum())


def log_episodes(env, policy: Callable, key: jax.Array, num_episodes: int, *,
                 max_steps: int, batch: int = 64) -> list[Episode]:
  """`num_episodes` episodes of `policy(states [B], key) -> action
  probabilities [B, A]` (actions are sampled from them) on one-player `env`,
  each cut off (truncated) after `max_steps` steps."""
  if env.num_players != 1:
    raise ValueError(f"logging is for one-player envs; {env.id} has {env.num_players} "
                     "players")

  @jax.jit
  def play(key):
    init_keys = jax.random.split(jax.random.fold_in(key, 0), batch)
    states = jax.vmap(env.init)(init_keys)

    def step(carry, t):
      states, done = carry
      k = jax.random.fold_in(key, t + 1)
      act_key, step_key, policy_key = jax.random.split(k, 3)
      obs = jax.vmap(env.observe)(states)
      probs = policy(states, policy_key)
      actions = jax.vmap(jax.random.categorical)(jax.random.split(act_key, batch),
                                                 jnp.log(probs)).astype(jnp.int32)
      nxt = jax.vmap(env.step)(states, actions, jax.random.split(step_key, batch))
      out = dict(observation=obs, action=actions, probs=probs, reward=nxt.rewards[:, 0],
                 terminated=nxt.terminated, truncated=nxt.truncated, live=~done,
                 next_observation=jax.vmap(env.observe)(nxt))
      return (nxt, done | nxt.terminated | nxt.truncated), out

    _, traj = jax.lax.scan(step, (states, jnp.zeros(batch, bool)), jnp.arange(max_steps))
    return traj

  episodes: list[Episode] = []
  chunk = 0
  while len(episodes) < num_episodes:
    traj = jax.device_get(play(jax.random.fold_in(key, chunk)))
    chunk += 1
    for b in range(batch):
      live = traj["live"][:, b]
      length = int(live.sum())
      ended = traj["terminated"][:, b] | traj["truncated"][:, b]
      terminations = traj["terminated"][:length, b].copy()
      truncations = traj["truncated"][:length, b].copy()
      if not ended[length - 1]:
        truncations[-1] = True  # our own cut-off at max_steps
      episodes.append(Episode(
          observations=np.concatenate([traj["observation"][:length, b],
                                       traj["next_observation"][length - 1:length, b]]),
          actions=traj["action"][:length, b], rewards=traj["reward"][:length, b],
          terminations=terminations, truncations=truncations,
          action_probs=traj["probs"][:length, b]))
      if len(episodes) == num_episodes:
        break
  return episodes


# Minari's dataset id, (namespace/)name-vN, with the version it leaves optional
# but needs to write a dataset.
DATASET_ID = re.compile(r"(?:[-_\w][-_\w/]*[-_\w]+/)?[-_\w]+?-v\d+")


def check_dataset_id(dataset_id: str) -> None:
  """ValueError (one sentence) unless `dataset_id` is one `write_minari` can
  write, before any episode is logged."""
  if not DATASET_ID.fullmatch(dataset_id):
    raise ValueError(f"--dataset_id={dataset_id} is not a Minari dataset id: "
                     "(namespace/)name-vVERSION, e.g. zerogo/minatar-breakout/mixed-v0")


def write_minari(root: str, dataset_id: str, episodes: list[Episode], *, env_id: str,
                 num_actions: int, algorithm_name: str, description: str) -> str:
  """Writes `episodes` as Minari dataset `dataset_id` (e.g.
  `zerogo/minatar-breakout/mixed-v0`) under `root`; returns its directory."""
  import gymnasium as gym
  import minari
  from minari.data_collector.episode_buffer import EpisodeBuffer
  buffers = []
  for i, ep in enumerate(episodes):
    # Minari stores one info row per observation (the reset's included).
    probs = np.concatenate([ep.action_probs, ep.action_probs[-1:]]).astype(np.float32)
    buffers.append(EpisodeBuffer(
        id=i, observations=ep.observations.astype(np.float32),
        actions=ep.actions.astype(np.int64), rewards=ep.rewards.astype(np.float64),
        terminations=ep.terminations.astype(bool), truncations=ep.truncations.astype(bool),
        infos={"action_probs": probs}))
  shape = episodes[0].observations.shape[1:]
  previous = os.environ.get("MINARI_DATASETS_PATH")
  os.environ["MINARI_DATASETS_PATH"] = os.path.abspath(root)
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")  # author, e-mail, permalink, env spec: optional
      minari.create_dataset_from_buffers(
          dataset_id, buffers, algorithm_name=algorithm_name, author="zerogo",
          observation_space=gym.spaces.Box(-np.inf, np.inf, shape, np.float32),
          action_space=gym.spaces.Discrete(num_actions), data_format="hdf5",
          description=f"{env_id}: {description}")
  finally:
    if previous is None:
      os.environ.pop("MINARI_DATASETS_PATH")
    else:
      os.environ["MINARI_DATASETS_PATH"] = previous
  return os.path.join(os.path.abspath(root), dataset_id)


@dataclasses.dataclass
class Transitions:
  """observation [N, ...], action [N] int32, reward [N], next_observation
  [N, ...], terminated [N] (bootstrap only where False); episode_returns
  [E] of the dataset's episodes."""
  observation: np.ndarray
  action: np.ndarray
  reward: np.ndarray
  next_observation: np.ndarray
  terminated: np.ndarray
  episode_returns: np.ndarray


def open_minari(path: str):
  """The Minari dataset in directory `path` (a dataset id's directory, as
  `write_minari` returns it). ValueError (one sentence) otherwise."""
  try:
    import minari
  except ImportError:
    raise ValueError("reading datasets needs Minari: pip install -e '.[offline]'") from None
  data = os.path.join(path, "data")
  if not os.path.isdir(data):
    raise ValueError(f"--dataset={path} is not a Minari dataset directory (no data/ in it)")
  try:
    return minari.MinariDataset(data)
  except Exception as e:  # minari raises several types for unreadable data
    raise ValueError(f"--dataset={path} is unreadable ({type(e).__name__}: {e})") from None


def read_transitions(path: str) -> Transitions:
  dataset = open_minari(path)
  parts: dict[str, list] = {k: [] for k in ("observation", "action", "reward",
                                            "next_observation", "terminated")}
  returns = []
  for ep in dataset.iterate_episodes():
    obs = np.asarray(ep.observations, np.float32)
    parts["observation"].append(obs[:-1])
    parts["next_observation"].append(obs[1:])
    parts["action"].append(np.asarray(ep.actions, np.int32))
    parts["reward"].append(np.asarray(ep.rewards, np.float32))
    parts["terminated"].append(np.asarray(ep.terminations, bool))
    returns.append(float(np.sum(ep.rewards)))
  if not returns:
    raise ValueError(f"--dataset={path} holds no episodes")
  return Transitions(**{k: np.concatenate(v) for k, v in parts.items()},
                     episode_returns=np.asarray(returns, np.float32))
