"""MCTS over the real env with mctx: Gumbel MuZero (default) or PUCT.

The env is the model: two players, reward from the mover's side, discount
-1 between plies (the value flips sign with the player to move) and 0 once
the game is over. Search runs one tree per game with that game's own key,
`vmap`ped over games, so a game's search never depends on how games are
batched or spread over devices.
"""

from __future__ import annotations

from typing import Callable

import chex
import jax
import jax.numpy as jnp
import mctx

import envs
from envs import go
from agents.configs import SEARCHES  # noqa: F401  (one list, re-exported)


@chex.dataclass(frozen=True)
class SearchOutput:
  """action: [B] int32; policy: [B, A] search policy (a target for training);
  root_value: [B] network value at the root, from the mover's side;
  search_value: [B] the search's value of the root (the mean backed-up value,
  mover's side; the network value when num_simulations == 0);
  visits: [B, A] share of the root's visits per move (the network's policy
  when num_simulations == 0), what analysis tools draw."""
  action: chex.Array
  policy: chex.Array
  root_value: chex.Array
  search_value: chex.Array
  visits: chex.Array


def make_evaluate(env, network) -> Callable:
  """(params, states[B]) -> (masked logits [B, A], value [B])."""
  def evaluate(params, states):
    logits, value = network.apply(params, jax.vmap(env.observe)(states))
    # mctx takes *illegal* masks only at the root; inside the tree the prior
    # must rule illegal moves out.
    return envs.mask_illegal(logits, states.legal_action_mask), value
  return evaluate


def make_recurrent_fn(env, evaluate: Callable, *, keyed: bool = False) -> Callable:
  """mctx's model: the real env's step, then `evaluate(params, states) ->
  (masked logits, value)` of the new states. `keyed=True`: evaluate also
  takes a key, split off the step's (random playouts)."""
  def recurrent_fn(params, key, action, states):
    mover = states.current_player
    if keyed:
      key, eval_key = jax.random.split(key)
    states = jax.vmap(env.step)(states, action, jax.random.split(key, action.shape[0]))
    logits, value = evaluate(params, states, eval_key) if keyed else evaluate(params, states)
    done = states.terminated | states.truncated
    reward = jnp.take_along_axis(states.rewards, mover[:, None], axis=1)[:, 0]
    output = mctx.RecurrentFnOutput(
        reward=reward.astype(jnp.float32),
        discount=jnp.where(done, 0.0, -1.0),
        prior_logits=logits,
        value=jnp.where(done, 0.0, value))
    return output, states
  return recurrent_fn


def run_policy(params, key, root: mctx.RootFnOutput, recurrent_fn, invalid, explore, *,
               search: str, num_simulations: int, max_num_considered_actions: int,
               gumbel_scale: float, dirichlet_fraction: float, dirichlet_alpha: float):
  """One mctx search from `root` (a batch of one game): (mctx output, action [1]).

  Gumbel: mctx's choice, with the Gumbel noise only where `explore`; PUCT:
  a sample with Dirichlet noise where `explore`, else the most-visited
  action. The real-env search and MuZero's learned-model search share it."""
  if search == "gumbel":
    out = mctx.gumbel_muzero_policy(
        params, key, root, recurrent_fn, num_simulations=num_simulations,
        invalid_actions=invalid, max_num_considered_actions=max_num_considered_actions,
        gumbel_scale=jnp.where(explore, gumbel_scale, 0.0))
    return out, out.action
  out = mctx.muzero_policy(
      params, key, root, recurrent_fn, num_simulations=num_simulations,
      invalid_actions=invalid,
      dirichlet_fraction=jnp.where(explore, dirichlet_fraction, 0.0),
      dirichlet_alpha=dirichlet_alpha)
  return out, jnp.where(explore, out.action,
                        jnp.argmax(out.search_tree.summary().visit_counts, axis=-1))


def make_search(env, network, *, search: str = "gumbel", num_simulations: int,
                max_num_considered_actions: int = 16, gumbel_scale: float = 1.0,
                dirichlet_fraction: float = 0.25, dirichlet_alpha: float = 0.3,
                greedy: bool = False, no_pass_before: int = 0) -> Callable:
  """Returns `search(params, keys[B], states[B], explore=None) -> SearchOutput`.

  `greedy=True` is for evaluation: no Gumbel or Dirichlet noise, and the
  most-visited (PUCT) or sequential-halving best (Gumbel) action is played.
  `explore` ([B] bool, optional) makes that choice per game at run time:
  games where it is False search and play as if `greedy`.
  `num_simulations=0` plays the raw policy (argmax, or a sample if not greedy).
  `no_pass_before` (Go): the root may not pass before that move of the game
  (`envs.go.without_early_pass`); the tree below it may.
  """
  if search not in SEARCHES:
    raise ValueError(f"unknown search {search!r}; choose one of {SEARCHES}")
  evaluate = make_evaluate(env, network)
  recurrent_fn = make_recurrent_fn(env, evaluate)

  def one_game(params, key, state, explore):
    states = jax.tree.map(lambda x: x[None], state)
    logits, value = evaluate(params, states)
    legal = states.legal_action_mask
    if no_pass_before:
      legal = go.without_early_pass(states, no_pass_before)
      logits = envs.mask_illegal(logits, legal)
    if num_simulations == 0:
      probs = jax.nn.softmax(logits)
      action = jnp.where(explore, jax.random.categorical(key, logits),
                         jnp.argmax(logits, axis=-1))
      return SearchOutput(action=action[0].astype(jnp.int32), policy=probs[0],
                          root_value=value[0], search_value=value[0], visits=probs[0])
    root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=states)
    out, action = run_policy(
        params, key, root, recurrent_fn, envs.invalid_actions(legal),
        explore, search=search, num_simulations=num_simulations,
        max_num_considered_actions=max_num_considered_actions, gumbel_scale=gumbel_scale,
        dirichlet_fraction=dirichlet_fraction, dirichlet_alpha=dirichlet_alpha)
    summary = out.search_tree.summary()
    visits = summary.visit_counts[0].astype(jnp.float32)
    return SearchOutput(action=action[0].astype(jnp.int32),
                        policy=out.action_weights[0], root_value=value[0],
                        search_value=summary.value[0],
                        visits=visits / jnp.maximum(visits.sum(), 1.0))

  batched = jax.vmap(one_game, in_axes=(None, 0, 0, 0))

  def run(params, keys, states, explore=None):
    if explore is None:
      explore = jnp.full(keys.shape[:1], not greedy)
    return batched(params, keys, states, explore)

  return run
