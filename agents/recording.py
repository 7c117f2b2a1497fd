"""An agent's game or episode, position by position, for pictures: the GIFs
of `launch/record.py` and the web board's episode player."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from zerogo import arena
from zerogo.agent import Agent


@dataclasses.dataclass
class Recording:
  """states[t] is the position before actions[t]; the last state is the
  final one (len(states) == len(actions) + 1). `rewards[t]` is what
  actions[t] earned (one-player games); `players` names who moved first
  and second (two-player games); `result` says how it ended."""
  env_id: str
  states: list
  actions: list[int]
  rewards: list[float] = dataclasses.field(default_factory=list)
  players: tuple[str, ...] = ()
  result: str = ""


@functools.lru_cache(maxsize=16)
def _episode_step(apply, env):
  def one(params, state, key):
    act_key, step_key = jax.random.split(key)
    batched = jax.tree.map(lambda x: x[None], state)
    action = apply(params, batched, act_key)[0]
    return action, env.step(state, action, step_key)
  return jax.jit(one)


def episode(agent: Agent, seed: int = 0, *, max_steps: int = 1000) -> Recording:
  """One episode of a one-player game (MinAtar, CartPole) played by
  `agent`, to its end or `max_steps`."""
  if agent.env.num_players != 1:
    raise ValueError(f"{agent.env_id} is a two-player game; record a game instead")
  step = _episode_step(agent.apply, agent.env)
  init_key, key = jax.random.split(jax.random.PRNGKey(seed))
  state = agent.env.init(init_key)
  states, actions, rewards = [state], [], []
  for t in range(max_steps):
    if bool(state.terminated | state.truncated):
      break
    action, state = step(agent.params, state, jax.random.fold_in(key, t))
    states.append(state)
    actions.append(int(action))
    rewards.append(float(jnp.asarray(state.rewards)[0]))
  ended = "ended" if bool(states[-1].terminated) else (
      "time limit" if bool(states[-1].truncated) else f"stopped after {max_steps} steps")
  return Recording(agent.env_id, states, actions, rewards, (agent.name,),
                   f"return {sum(rewards):g} in {len(actions)} steps ({ended})")


def game(first: Agent, second: Agent, seed: int = 0) -> Recording:
  """One two-player game, `first` moving first."""
  states = []
  record = arena.play_game(first.env, arena.AgentPlayer(first), arena.AgentPlayer(second),
                           jax.random.PRNGKey(seed),
                           on_move=lambda state, action: states.append(state))
  start = first.env.init(jax.random.split(jax.random.PRNGKey(seed))[0])
  verdict = {1.0: f"{first.name} (first) wins", 0.0: f"{second.name} (second) wins",
             0.5: "draw"}[record.score]
  return Recording(first.env_id, [start] + states, list(record.actions), [],
                   (first.name, second.name), f"{verdict} after {len(record.actions)} moves")


def frames(recording: Recording, *, captions: bool = True, every: int = 1) -> list:
  """PIL images of every `every`-th position (and the last)."""
  from envs import frames as frames_lib
  from envs import notation
  images = []
  total = 0.0
  indices = list(range(0, len(recording.states), max(1, every)))
  if indices[-1] != len(recording.states) - 1:
    indices.append(len(recording.states) - 1)
  two_player = bool(recording.players) and len(recording.players) == 2
  for t in indices:
    last = recording.actions[t - 1] if t else None
    if recording.rewards:
      total = float(np.sum(recording.rewards[:t]))
    if not captions:
      caption = ""
    elif two_player:
      caption = (f"move {t}: {notation.move_to_text(recording.env_id, last)}" if t
                 else f"{recording.players[0]} vs {recording.players[1]}")
      if t == len(recording.states) - 1:
        caption += f"  ({recording.result})"
    else:
      caption = f"step {t}  return {total:g}"
    images.append(frames_lib.frame(recording.env_id, recording.states[t],
                                   last_move=last if two_player else None, caption=caption))
  return images
