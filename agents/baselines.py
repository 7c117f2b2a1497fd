"""Fixed opponents: uniform random and UCT with random rollouts.

Both are batched, jittable policies `(params, states[B], key) -> int32[B]`
(they ignore params) so they meet learned agents inside one compiled match.
UCT is classic UCB1 tree search (Kocsis & Szepesvari) run by `mctx.search`
with a custom selection rule; leaf values come from one uniformly random
playout to the end of the game.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import mctx

import envs
from agents import search as search_lib
from zerogo.agent import Agent, Analysis


def _uniform_logits(legal_mask):
  return envs.mask_illegal(jnp.zeros(legal_mask.shape), legal_mask)


def random_agent(env) -> Agent:
  def apply(params, states, key):
    del params
    keys = jax.random.split(key, states.legal_action_mask.shape[0])
    return jax.vmap(envs.random_legal_action)(keys, states.legal_action_mask)

  def analyse(params, states, key):
    legal = states.legal_action_mask.astype(jnp.float32)
    return Analysis(action=apply(params, states, key),
                    visits=legal / jnp.maximum(legal.sum(-1, keepdims=True), 1.0),
                    value=jnp.full(legal.shape[:1], jnp.nan))
  return Agent(name="random", env_id=env.id, env=env, apply=apply, params=(),
               analyse=analyse)


def _rollout_value(env, state, key):
  """Return of a uniformly random playout for the player to move in `state`."""
  player = state.current_player

  def not_done(carry):
    s, _, _ = carry
    return ~(s.terminated | s.truncated)

  def play(carry):
    s, k, total = carry
    k, action_key, step_key = jax.random.split(k, 3)
    s = env.step(s, envs.random_legal_action(action_key, s.legal_action_mask), step_key)
    return s, k, total + s.rewards[player]

  _, _, total = jax.lax.while_loop(not_done, play, (state, key, jnp.float32(0.0)))
  return total


def _ucb1_selection(rng_key, tree, node_index, depth=0, *, exploration):
  del depth
  visits = tree.children_visits[node_index]
  parent_visits = jnp.maximum(tree.node_visits[node_index], 1)
  bonus = exploration * jnp.sqrt(jnp.log(parent_visits) / jnp.maximum(visits, 1))
  score = tree.qvalues(node_index) + bonus
  # Every legal child is tried once before any is tried twice; random order.
  unvisited = 1e6 + jax.random.uniform(rng_key, visits.shape)
  score = jnp.where(visits == 0, unvisited, score)
  legal = ~envs.is_masked(tree.children_prior_logits[node_index])
  return jnp.argmax(envs.mask_illegal(score, legal)).astype(jnp.int32)


def uct_agent(env, num_simulations: int, *, exploration: float = 2.0) -> Agent:
  """UCT with `num_simulations` playouts per move; exploration constant on
  the [-1, 1] reward scale (OpenSpiel's default of 2)."""
  if num_simulations < 1:
    raise ValueError(f"uct needs at least 1 simulation, got {num_simulations}")

  def evaluate(params, states, key):
    """Uniform prior over legal moves; value of one random playout."""
    del params
    keys = jax.random.split(key, states.current_player.shape[0])
    return (_uniform_logits(states.legal_action_mask),
            jax.vmap(functools.partial(_rollout_value, env))(states, keys))

  recurrent_fn = search_lib.make_recurrent_fn(env, evaluate, keyed=True)
  select = functools.partial(_ucb1_selection, exploration=exploration)

  def analyse(params, states, key):
    root_key, search_key = jax.random.split(key)
    prior, value = evaluate(params, states, root_key)
    root = mctx.RootFnOutput(prior_logits=prior, value=value, embedding=states)
    tree = mctx.search(params=(), rng_key=search_key, root=root,
                       recurrent_fn=recurrent_fn, root_action_selection_fn=select,
                       interior_action_selection_fn=select,
                       num_simulations=num_simulations,
                       invalid_actions=~states.legal_action_mask)
    summary = tree.summary()
    visits = summary.visit_counts.astype(jnp.float32)
    action = jnp.argmax(jnp.where(states.legal_action_mask, visits, -1), axis=-1)
    return Analysis(action=action.astype(jnp.int32),
                    visits=visits / jnp.maximum(visits.sum(-1, keepdims=True), 1.0),
                    value=summary.value)

  def apply(params, states, key):
    return analyse(params, states, key).action

  return Agent(name=f"uct:{num_simulations}", env_id=env.id, env=env,
               apply=apply, params=(), analyse=analyse)


# ---------------------------------------------------------------------------
# Exact minimax, for games small enough to tabulate (tic-tac-toe).

MINIMAX_GAMES = ("tic_tac_toe",)


@functools.lru_cache(maxsize=1)
def _tic_tac_toe_table():
  """[3**9, 9] float32: value (+1/0/-1) of each move for the player to move,
  indexed by sum(cell_i * 3**i) with cell 1 = mover's mark, 2 = opponent's;
  -2 marks an occupied cell. Filled from the exact solver for every
  position a game can reach (rows of other positions are never read)."""
  import numpy as np

  from agents import tic_tac_toe_solver as solver
  powers = 3 ** np.arange(9)
  table = np.full((3 ** 9, 9), -2.0, np.float32)
  for mine, theirs in solver.positions():
    index = int(np.dot(np.add(mine, np.multiply(theirs, 2)), powers))
    for action, v in solver.action_values(mine, theirs).items():
      table[index, action] = v
  return table, powers


def minimax_agent(env) -> Agent:
  """Perfect play from a precomputed game-theoretic table; ties between
  equally good moves are broken at random."""
  if env.id not in MINIMAX_GAMES:
    raise ValueError(f"minimax is exact only for {', '.join(MINIMAX_GAMES)}, "
                     f"not {env.id}")
  table, powers = _tic_tac_toe_table()
  table, powers = jnp.asarray(table), jnp.asarray(powers, jnp.int32)

  def move_values(states):
    obs = states.observation.reshape(states.observation.shape[0], 9, 2)
    cells = obs[..., 0].astype(jnp.int32) + 2 * obs[..., 1].astype(jnp.int32)
    return table[cells @ powers]

  def apply(params, states, key):
    del params
    values = move_values(states)
    noise = jax.random.uniform(key, values.shape, maxval=1e-3)
    values = envs.mask_illegal(values + noise, states.legal_action_mask)
    return jnp.argmax(values, axis=-1).astype(jnp.int32)

  def analyse(params, states, key):
    """The exact value, and the best moves sharing the visits equally."""
    values = envs.mask_illegal(move_values(states), states.legal_action_mask)
    best = values.max(axis=-1)
    optimal = (values == best[:, None]).astype(jnp.float32)
    return Analysis(action=apply(params, states, key),
                    visits=optimal / jnp.maximum(optimal.sum(-1, keepdims=True), 1.0),
                    value=best)

  return Agent(name="minimax", env_id=env.id, env=env, apply=apply, params=(),
               analyse=analyse)
