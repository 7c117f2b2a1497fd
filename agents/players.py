"""Players built from a policy-value network: the search player (AlphaZero,
and any algorithm with a model to search) and the greedy policy player."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from agents import search as search_lib
from zerogo.agent import Agent, Analysis


def search_agent(env, network, params, *, num_simulations: int,
                 search: str = "gumbel", max_num_considered_actions: int = 16,
                 name: str = "alphazero", no_pass_before: int = 0) -> Agent:
  """A greedy (noise-free) MCTS player over a policy-value network;
  `num_simulations=0` plays the network's policy argmax; `no_pass_before`:
  as in `search.make_search`."""
  search_fn = search_lib.make_search(
      env, network, search=search, num_simulations=num_simulations,
      max_num_considered_actions=max_num_considered_actions, greedy=True,
      no_pass_before=no_pass_before)
  evaluate = search_lib.make_evaluate(env, network)

  def apply(params, states, key):
    keys = jax.random.split(key, states.current_player.shape[0])
    return search_fn(params, keys, states).action

  def analyse(params, states, key):
    out = search_fn(params, jax.random.split(key, states.current_player.shape[0]), states)
    return Analysis(action=out.action, visits=out.visits, value=out.search_value)

  return Agent(name=name, env_id=env.id, env=env, apply=apply, params=params,
               num_simulations=num_simulations,
               value=lambda params, states: evaluate(params, states)[1], analyse=analyse)


def policy_agent(env, network, params, *, name: str = "policy") -> Agent:
  """A greedy player over a network `(observations) -> (logits, value)`:
  the most probable legal move, from the mover's point of view."""
  evaluate = search_lib.make_evaluate(env, network)

  def apply(params, states, key):
    del key
    return jnp.argmax(evaluate(params, states)[0], axis=-1).astype(jnp.int32)

  def analyse(params, states, key):
    del key
    logits, value = evaluate(params, states)
    return Analysis(action=jnp.argmax(logits, axis=-1).astype(jnp.int32),
                    visits=jax.nn.softmax(logits), value=jnp.tanh(value))

  return Agent(name=name, env_id=env.id, env=env, apply=apply, params=params,
               value=lambda params, states: jnp.tanh(evaluate(params, states)[1]),
               analyse=analyse)
