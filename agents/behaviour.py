"""Behaviour policies for logging play (launch/log_play.py): mixtures of
agents whose action probabilities are known exactly.

A behaviour spec is `COMPONENT:WEIGHT,...`; each step the logged action is
drawn from the weighted sum of the components' probabilities (weights are
normalised). Components: `random` (uniform), `ckpt:PATH` (the checkpoint's
greedy move, `load_agent`), and scripted players: `breakout_tracker` (on
minatar-breakout, moves the paddle towards the ball's column) and
`breakout_away` (moves it away: a bad policy).
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp

# minatar-breakout: observation channels [paddle, ball, trail, brick] on a
# 10 x 10 grid; actions [no-op, left, right].
_NOOP, _LEFT, _RIGHT = 0, 1, 2


def _breakout_direction(observation: jax.Array) -> jax.Array:
  """-1 / 0 / +1: where the ball's column is from the paddle's."""
  paddle = jnp.argmax(observation[-1, :, 0])
  ball_cols = observation[:, :, 1].sum(0)
  ball = jnp.where(ball_cols.sum() > 0, jnp.argmax(ball_cols), paddle)
  return jnp.sign(ball - paddle)


def breakout_tracker(observation: jax.Array) -> jax.Array:
  d = _breakout_direction(observation)
  return jnp.where(d < 0, _LEFT, jnp.where(d > 0, _RIGHT, _NOOP)).astype(jnp.int32)


def breakout_away(observation: jax.Array) -> jax.Array:
  d = _breakout_direction(observation)
  return jnp.where(d < 0, _RIGHT, jnp.where(d > 0, _LEFT, _RIGHT)).astype(jnp.int32)


SCRIPTED = {"breakout_tracker": ("minatar-breakout", breakout_tracker),
            "breakout_away": ("minatar-breakout", breakout_away)}


def parse(spec: str) -> list[tuple[str, float]]:
  """`a:0.3,b:0.7` -> [(a, 0.3), (b, 0.7)]; a bare component weighs 1.
  `ckpt:PATH` components may carry a weight after a last `:`."""
  out = []
  for part in [p.strip() for p in spec.split(",") if p.strip()]:
    name, weight = part, 1.0
    head, sep, tail = part.rpartition(":")
    if sep and head and not tail.startswith("/"):
      try:
        name, weight = head, float(tail)
      except ValueError:
        name, weight = part, 1.0
    if not math.isfinite(weight) or weight <= 0:
      raise ValueError(f"--behaviour: weight of {name!r} must be a positive number, got "
                       f"{weight}")
    out.append((name, weight))
  if not out:
    raise ValueError("--behaviour is empty; e.g. --behaviour=breakout_tracker:0.5,random:0.5")
  return out


def make(spec: str, env) -> Callable:
  """`policy(states [B], key) -> action probabilities [B, A]` of `spec` on `env`."""
  parts = parse(spec)
  total = sum(w for _, w in parts)
  components = []
  for name, weight in parts:
    if name == "random":
      components.append((weight / total, lambda states, key: jnp.ones(
          (states.current_player.shape[0], env.num_actions)) / env.num_actions))
    elif name in SCRIPTED:
      game, act = SCRIPTED[name]
      if env.id != game:
        raise ValueError(f"--behaviour: {name} plays {game}, not {env.id}")
      components.append((weight / total, lambda states, key, act=act: jax.nn.one_hot(
          jax.vmap(act)(jax.vmap(env.observe)(states)), env.num_actions)))
    elif name.startswith("ckpt:"):
      from agents import load_agent
      agent = load_agent(name[5:])
      if agent.env_id != env.id:
        raise ValueError(f"--behaviour: {name} plays {agent.env_id}, not {env.id}")
      components.append((weight / total, lambda states, key, agent=agent: jax.nn.one_hot(
          agent.apply(agent.params, states, key), env.num_actions)))
    else:
      raise ValueError(f"--behaviour: unknown component {name!r} (random, ckpt:PATH, "
                       f"{', '.join(SCRIPTED)})")

  def policy(states, key):
    return sum(w * f(states, jax.random.fold_in(key, i))
               for i, (w, f) in enumerate(components))

  return policy
