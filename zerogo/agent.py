"""Playable agents, and `load_agent`: checkpoint -> Agent.

An Agent is a pure batched policy `apply(params, states[B], key) -> int32[B]`
plus its params, so matches can pass params as jit arguments; `act(states,
key)` is the same with the agent's own params bound.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from zerogo import checkpoint


@dataclasses.dataclass(frozen=True, eq=False)
class Agent:
  name: str
  env_id: str
  env: Any
  apply: Callable[[Any, Any, jax.Array], jax.Array]
  params: Any = ()
  num_simulations: int | None = None
  # value(params, states[B]) -> float32[B] in [-1, 1] for the player to
  # move, where the agent has a value estimate (GTP resigns on it).
  value: Callable[[Any, Any], jax.Array] | None = None

  def act(self, state, key: jax.Array) -> jax.Array:
    """Moves int32[B] for a batch of the env's states."""
    return self.apply(self.params, state, key)


def search_agent(env, network, params, *, num_simulations: int,
                 search: str = "gumbel", max_num_considered_actions: int = 16,
                 name: str = "alphazero") -> Agent:
  """A greedy (noise-free) MCTS player over a policy-value network;
  `num_simulations=0` plays the network's policy argmax."""
  from agents import search as search_lib  # agents depend on zerogo, not back
  search_fn = search_lib.make_search(
      env, network, search=search, num_simulations=num_simulations,
      max_num_considered_actions=max_num_considered_actions, greedy=True)

  evaluate = search_lib.make_evaluate(env, network)

  def apply(params, states, key):
    keys = jax.random.split(key, states.current_player.shape[0])
    return search_fn(params, keys, states).action

  return Agent(name=name, env_id=env.id, env=env, apply=apply, params=params,
               num_simulations=num_simulations,
               value=lambda params, states: evaluate(params, states)[1])


def policy_agent(env, network, params, *, name: str = "policy") -> Agent:
  """A greedy player over a network `(observations) -> (logits, value)`:
  the most probable legal move, from the mover's point of view."""
  def evaluate(params, states):
    logits, value = network.apply(params, jax.vmap(env.observe)(states))
    return jnp.where(states.legal_action_mask, logits, -jnp.inf), value

  def apply(params, states, key):
    del key
    return jnp.argmax(evaluate(params, states)[0], axis=-1).astype(jnp.int32)

  return Agent(name=name, env_id=env.id, env=env, apply=apply, params=params,
               value=lambda params, states: jnp.tanh(evaluate(params, states)[1]))


def _restore_local(directory: str, step: int, shapes: Any) -> Any:
  """Restores a checkpoint's params onto one local device whatever mesh
  saved them: a checkpoint from many devices opens on a laptop."""
  local = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  template = jax.tree.map(
      lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=local), shapes)
  return checkpoint.Checkpointer(directory, read_only=True).restore_params(step, template)


def _config_from(meta: dict, config_class) -> Any:
  fields = {f.name for f in dataclasses.fields(config_class)}
  return config_class(**{k: v for k, v in meta["config"].items() if k in fields})


def _alphazero_agent(meta: dict, directory: str, step: int,
                     num_simulations: int | None) -> Agent:
  import envs
  from agents import alphazero
  from zerogo import networks
  config = _config_from(meta, alphazero.AlphaZeroConfig)
  env = envs.make(config.env_id)
  network = alphazero.make_network(config, env)
  params = _restore_local(directory, step, jax.eval_shape(lambda: networks.init_params(
      network, env.observation_shape, jax.random.PRNGKey(0))))
  sims = config.num_simulations if num_simulations is None else num_simulations
  if sims < 0:
    raise ValueError(f"num_simulations must be >= 0, got {sims}")
  return search_agent(env, network, params, num_simulations=sims,
                      search=config.search,
                      max_num_considered_actions=config.max_num_considered_actions,
                      name=f"alphazero@{step}")


def _ppo_agent(meta: dict, directory: str, step: int, num_simulations: int | None,
               seed_index: int = 0) -> Agent:
  from agents import ppo
  if num_simulations:
    raise ValueError(f"checkpoint {directory}/{step} is a PPO policy, which does not "
                     "search; drop the @SIMS budget")
  config = _config_from(meta, ppo.PPOConfig)
  if not 0 <= seed_index < config.num_seeds:
    raise ValueError(f"checkpoint {directory}/{step} holds seeds 0..{config.num_seeds - 1}, "
                     f"not seed {seed_index}")
  env = ppo.make_env(config)
  network = ppo.make_network(config, env)
  one = jax.eval_shape(lambda: ppo.init_params(network, env, jax.random.PRNGKey(0)))
  # Saved params carry a leading axis of seeds (--num_seeds).
  stacked = jax.tree.map(lambda s: jax.ShapeDtypeStruct((config.num_seeds, *s.shape), s.dtype),
                         one)
  params = jax.tree.map(lambda x: x[seed_index], _restore_local(directory, step, stacked))
  suffix = f"/seed_{seed_index}" if config.num_seeds > 1 else ""
  return policy_agent(env, network, params, name=f"ppo@{step}{suffix}")


_LOADERS: dict[str, Callable[..., Agent]] = {"alphazero": _alphazero_agent, "ppo": _ppo_agent}


def load_agent(path: str, num_simulations: int | None = None, seed_index: int = 0) -> Agent:
  """Loads the agent saved in a workdir, a checkpoints dir or a step dir.

  The network is rebuilt from the config stored in the checkpoint, so no
  flagfile is needed. `num_simulations` overrides the search budget the
  agent trained with; 0 plays the raw policy. `seed_index` picks one of the
  agents of a PPO run trained with `--num_seeds` (AlphaZero runs hold one).
  """
  directory, step = checkpoint.resolve(path)
  meta = checkpoint.Checkpointer(directory, read_only=True).meta(step)
  algorithm = meta.get("algorithm")
  if algorithm not in _LOADERS:
    raise checkpoint.CheckpointError(
        f"checkpoint {directory}/{step} was written by unknown algorithm {algorithm!r}")
  if algorithm == "ppo":
    return _ppo_agent(meta, directory, step, num_simulations, seed_index)
  if seed_index != 0:
    raise ValueError(f"checkpoint {directory}/{step} holds one {algorithm} agent; "
                     f"there is no seed {seed_index}")
  return _LOADERS[algorithm](meta, directory, step, num_simulations)
