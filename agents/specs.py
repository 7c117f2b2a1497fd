"""Agent specs: one string names a player for every tool.

  ckpt:PATH        a trained agent (workdir, checkpoints dir or step dir),
                   searching with the budget it trained with
  ckpt:PATH@SIMS   the same with SIMS simulations per move (0 = raw policy)
  random           uniformly random legal moves
  uct:N            UCT with N random-rollout simulations per move
  minimax          exact play (tic_tac_toe only)
  gtp:COMMAND      an external engine speaking GTP (Go only), e.g.
                   gtp:/usr/games/gnugo --mode gtp --level 10
"""

from __future__ import annotations

import dataclasses

SPEC_HELP = ("ckpt:PATH[@SIMS], random, uct:N, minimax or gtp:COMMAND")
MAX_SIMULATIONS = 1_000_000  # per move: more is a typo, and would overflow int32 counters


@dataclasses.dataclass(frozen=True)
class Spec:
  kind: str               # ckpt, random, uct, minimax, gtp
  arg: str = ""           # path, simulation count or command
  simulations: int | None = None
  text: str = ""


def parse(text: str) -> Spec:
  """Parses a spec; ValueError (one sentence) if it is not one."""
  raw = text.strip()
  kind, sep, arg = raw.partition(":")
  bad = f"unknown agent spec {raw!r}; use {SPEC_HELP}"
  if kind in ("random", "minimax"):
    if sep:
      raise ValueError(bad)
    return Spec(kind, text=raw)
  if kind == "uct":
    if not (arg.isascii() and arg.isdigit()) or not 1 <= int(arg) <= MAX_SIMULATIONS:
      raise ValueError(f"agent spec {raw!r}: uct needs a simulation count from 1 to "
                       f"{MAX_SIMULATIONS}, like uct:200")
    return Spec("uct", arg, int(arg), text=raw)
  if kind == "ckpt":
    path, at, sims = arg.rpartition("@") if "@" in arg else (arg, "", "")
    if not path:
      raise ValueError(f"agent spec {raw!r}: ckpt needs a path, like ckpt:runs/c4@64")
    if at and not (sims.isascii() and sims.isdigit() and int(sims) <= MAX_SIMULATIONS):
      raise ValueError(f"agent spec {raw!r}: the search budget after @ must be a "
                       f"number from 0 to {MAX_SIMULATIONS}, like ckpt:runs/c4@64")
    return Spec("ckpt", path, int(sims) if at else None, text=raw)
  if kind == "gtp":
    if not arg.strip():
      raise ValueError(f"agent spec {raw!r}: gtp needs an engine command, like "
                       f"gtp:/usr/games/gnugo --mode gtp")
    return Spec("gtp", arg.strip(), text=raw)
  raise ValueError(bad)


def is_jax(spec: Spec) -> bool:
  """JAX agents play each other batched on device; others play on the host."""
  return spec.kind != "gtp"


def make_agent(spec: Spec, env):
  """A JAX `zerogo.Agent` for a spec (not gtp) that plays `env`'s game."""
  from agents import baselines
  import agents
  if spec.kind == "random":
    agent = baselines.random_agent(env)
  elif spec.kind == "uct":
    agent = baselines.uct_agent(env, spec.simulations)
  elif spec.kind == "minimax":
    agent = baselines.minimax_agent(env)
  elif spec.kind == "ckpt":
    agent = agents.load_agent(spec.arg, num_simulations=spec.simulations)
    if agent.env_id != env.id:
      raise ValueError(f"{spec.text} plays {agent.env_id}, not {env.id}")
  else:
    raise ValueError(f"{spec.text} is not a JAX agent")
  return dataclasses.replace(agent, name=spec.text)


def make_player(spec: Spec, env, *, gtp_timeout_s: float = 60.0):
  """A host-side `zerogo.arena.Player` for any spec; an external engine gets
  `gtp_timeout_s` seconds per command."""
  from zerogo import arena
  if spec.kind == "gtp":
    from agents import external
    return external.GtpPlayer(spec.arg, name=spec.text, timeout_s=gtp_timeout_s)
  return arena.AgentPlayer(make_agent(spec, env))
