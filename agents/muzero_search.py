"""MCTS in a learned model with mctx: Gumbel MuZero (default) or PUCT.

The root is the representation of the real observation, with the real
legal moves; inside the tree the dynamics network is the model (no masks:
MuZero learns which moves matter). Values and rewards are the means of
the network's categorical outputs, mapped back through h^-1. One player:
discount gamma between steps. Two players: the value is from the mover's
side, so the discount is -gamma (the AlphaZero search's convention), and
the model predicts the opponent's turn like any other.

Like `agents.search`, one tree per game with that game's own key,
`vmap`ped over games, so results do not depend on batching or devices.
"""

from __future__ import annotations

from collections.abc import Callable

import chex
import jax
import jax.numpy as jnp
import mctx

import envs
from agents import search as search_lib
from agents.configs import SEARCHES
from zerogo import targets
from zerogo.networks import MuZeroNet


@chex.dataclass(frozen=True)
class SearchOutput:
  """action: [B] int32; policy: [B, A] search policy (the policy target);
  root_value: [B] predicted value at the root; search_value: [B] the
  search's value of the root (both from the mover's side)."""
  action: chex.Array
  policy: chex.Array
  root_value: chex.Array
  search_value: chex.Array


def model_discount(gamma: float, num_players: int) -> float:
  return -gamma if num_players == 2 else gamma


def make_initial_inference(network: MuZeroNet) -> Callable:
  """(params, observations [N, ...]) -> (latent, policy logits, value [N])."""
  def initial(params, observation):
    latent = network.apply(params, observation, method=MuZeroNet.represent)
    logits, value = network.apply(params, latent, method=MuZeroNet.predict)
    return latent, logits, targets.from_categorical(value, network.support_size)
  return initial


def make_recurrent_fn(network: MuZeroNet, discount: float) -> Callable:
  """mctx's model: the dynamics, then the prediction of the next latent."""
  def recurrent_fn(params, key, action, latent):
    del key
    latent, reward = network.apply(params, latent, action, method=MuZeroNet.recurrent)
    logits, value = network.apply(params, latent, method=MuZeroNet.predict)
    support = network.support_size
    output = mctx.RecurrentFnOutput(
        reward=targets.from_categorical(reward, support),
        discount=jnp.full(action.shape, discount, jnp.float32),
        prior_logits=logits,
        value=targets.from_categorical(value, support))
    return output, latent
  return recurrent_fn


def make_search(network: MuZeroNet, *, discount: float, search: str = "gumbel",
                num_simulations: int, max_num_considered_actions: int = 16,
                gumbel_scale: float = 1.0, dirichlet_fraction: float = 0.25,
                dirichlet_alpha: float = 0.3) -> Callable:
  """`search(params, keys [B], observations [B, ...], legal [B, A], explore [B])
  -> SearchOutput`. Games with explore False search without noise and play
  the best action; `num_simulations=0` plays the raw policy."""
  if search not in SEARCHES:
    raise ValueError(f"unknown search {search!r}; choose one of {SEARCHES}")
  initial = make_initial_inference(network)
  recurrent_fn = make_recurrent_fn(network, discount)

  def one_game(params, key, observation, legal, explore):
    latent, logits, value = initial(params, observation[None])
    logits = envs.mask_illegal(logits, legal[None])
    if num_simulations == 0:
      action = jnp.where(explore, jax.random.categorical(key, logits[0]),
                         jnp.argmax(logits[0]))
      return SearchOutput(action=action.astype(jnp.int32), policy=jax.nn.softmax(logits)[0],
                          root_value=value[0], search_value=value[0])
    root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=latent)
    out, action = search_lib.run_policy(
        params, key, root, recurrent_fn, envs.invalid_actions(legal[None]), explore,
        search=search, num_simulations=num_simulations,
        max_num_considered_actions=max_num_considered_actions, gumbel_scale=gumbel_scale,
        dirichlet_fraction=dirichlet_fraction, dirichlet_alpha=dirichlet_alpha)
    return SearchOutput(action=action[0].astype(jnp.int32), policy=out.action_weights[0],
                        root_value=value[0], search_value=out.search_tree.summary().value[0])

  return jax.vmap(one_game, in_axes=(None, 0, 0, 0, 0))


def from_config(config, env, network: MuZeroNet, *, num_simulations: int | None = None):
  """The search a MuZeroConfig describes (its budget unless `num_simulations`)."""
  return make_search(
      network, discount=model_discount(config.gamma, env.num_players),
      search=config.search,
      num_simulations=config.num_simulations if num_simulations is None else num_simulations,
      max_num_considered_actions=config.max_num_considered_actions,
      gumbel_scale=config.gumbel_scale, dirichlet_fraction=config.dirichlet_fraction,
      dirichlet_alpha=config.dirichlet_alpha)
