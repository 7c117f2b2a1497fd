"""gymnax's MinAtar games (and CartPole) behind the zerogo env protocol.

The games are gymnax's JAX ports (Apache-2.0), not pgx's MinAtar (GPL).
They are single-player: `rewards` has one entry, `current_player` is always
0 and every action is legal. Unlike gymnax's own `step`, `step` here does
not reset: a finished episode stays finished (stepping it is a no-op, as for
the board games) and `envs.AutoReset` restarts it, so `terminated` (the
game ended) and `truncated` (the time limit cut it off) stay apart and the
final observation of a cut-off episode is there to bootstrap from.

Sticky actions (MinAtar paper, Young & Tian 2019): with probability
`sticky_action_prob` the previous action is repeated instead of the chosen
one; 0.1 by default for the MinAtar games, 0 for CartPole.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp

from envs import core

# zerogo name -> (gymnax name, default sticky-action probability)
GAMES = {
    "minatar-asterix": ("Asterix-MinAtar", 0.1),
    "minatar-breakout": ("Breakout-MinAtar", 0.1),
    "minatar-freeway": ("Freeway-MinAtar", 0.1),
    "minatar-seaquest": ("Seaquest-MinAtar", 0.1),
    "minatar-space_invaders": ("SpaceInvaders-MinAtar", 0.1),
    "CartPole-v1": ("CartPole-v1", 0.0),
}


@chex.dataclass(frozen=True)
class State:
  """The protocol's fields plus the gymnax state and the last action taken."""
  current_player: chex.Array     # [] int32, always 0
  observation: chex.Array        # float32 [*observation_shape]
  rewards: chex.Array            # float32 [1]
  terminated: chex.Array         # [] bool
  truncated: chex.Array          # [] bool
  legal_action_mask: chex.Array  # bool [num_actions], all True
  last_action: chex.Array        # [] int32, what sticky actions repeat
  inner: Any                     # gymnax EnvState


class GymnaxEnv:
  """A gymnax environment as a one-player zerogo env."""

  num_players = 1
  is_perfect_information_two_player = False

  def __init__(self, env_id: str, sticky_action_prob: float | None = None):
    import gymnax  # imported here: board-game users never pay for it
    gymnax_name, default_sticky = GAMES[env_id]
    self.id = env_id
    self._env, self._params = gymnax.make(gymnax_name)
    self.sticky_action_prob = float(
        default_sticky if sticky_action_prob is None else sticky_action_prob)
    if not 0.0 <= self.sticky_action_prob < 1.0:
      raise ValueError(f"--sticky_action_prob must be in [0, 1), got {sticky_action_prob}")
    self.num_actions = int(self._env.num_actions)
    obs, _ = jax.eval_shape(self._env.reset_env, jax.random.PRNGKey(0), self._params)
    self.observation_shape = tuple(int(d) for d in obs.shape)
    self.max_game_length = int(self._params.max_steps_in_episode)

  def init(self, key: jax.Array) -> State:
    obs, inner = self._env.reset_env(key, self._params)
    return State(current_player=jnp.int32(0), observation=obs.astype(jnp.float32),
                 rewards=jnp.zeros((1,), jnp.float32), terminated=jnp.bool_(False),
                 truncated=jnp.bool_(False),
                 legal_action_mask=jnp.ones((self.num_actions,), jnp.bool_),
                 last_action=jnp.int32(0), inner=inner)

  def step(self, state: State, action: jax.Array, key: jax.Array) -> State:
    sticky_key, step_key = jax.random.split(key)
    action = jnp.asarray(action, jnp.int32)
    if self.sticky_action_prob > 0:
      repeat = jax.random.uniform(sticky_key) < self.sticky_action_prob
      action = jnp.where(repeat, state.last_action, action)
    obs, inner, reward, terminated, _ = self._env.step_env(
        step_key, state.inner, action, self._params)
    truncated = self._env.is_truncated(inner, self._params) & ~terminated
    stepped = State(current_player=state.current_player,
                    observation=obs.astype(jnp.float32),
                    rewards=jnp.reshape(reward, (1,)).astype(jnp.float32),
                    terminated=jnp.asarray(terminated, jnp.bool_),
                    truncated=jnp.asarray(truncated, jnp.bool_),
                    legal_action_mask=state.legal_action_mask,
                    last_action=action, inner=inner)
    finished = state.terminated | state.truncated
    # A finished episode does not move: same state, no reward.
    frozen = state.replace(rewards=jnp.zeros_like(state.rewards))
    return jax.tree.map(lambda a, b: jnp.where(finished, a, b), frozen, stepped)

  def observe(self, state: State, player_id: jax.Array | None = None) -> jax.Array:
    del player_id  # one player
    return state.observation

  def __repr__(self) -> str:
    return f"GymnaxEnv({self.id!r}, sticky_action_prob={self.sticky_action_prob})"


def make(env_id: str, sticky_action_prob: float | None = None) -> GymnaxEnv:
  """`envs.make` with a sticky-action probability other than the default."""
  core.check_env_name(env_id)
  return GymnaxEnv(env_id, sticky_action_prob)


for _name, (_, _sticky) in GAMES.items():
  core.register(_name, lambda n=_name: GymnaxEnv(n),
                family="minatar" if _name.startswith("minatar-") else "classic")
