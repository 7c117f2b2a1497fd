"""`load_agent`: checkpoint -> playable Agent, for every algorithm.

A checkpoint names the algorithm that wrote it; each algorithm module
provides `agent_from_checkpoint(meta, directory, step, *, num_simulations,
seed_index)`. Adding an algorithm is one line in `ALGORITHMS`.
"""

from __future__ import annotations

import importlib

from zerogo import checkpoint
from zerogo.agent import Agent

ALGORITHMS = {"alphazero": "agents.alphazero", "muzero": "agents.muzero", "ppo": "agents.ppo",
              "pretrain": "agents.pretrain", "offline": "agents.offline",
              "rlhf": "agents.rlhf"}


def load_agent(path: str, num_simulations: int | None = None, seed_index: int = 0) -> Agent:
  """Loads the agent saved in a workdir, a checkpoints dir or a step dir.

  The network is rebuilt from the config stored in the checkpoint, so no
  flagfile is needed. `num_simulations` overrides the search budget the
  agent trained with; 0 plays the raw policy. `seed_index` picks one of the
  agents of a run trained with several seeds (PPO's `--num_seeds`).
  """
  directory, step = checkpoint.resolve(path)
  meta = checkpoint.Checkpointer(directory, read_only=True).meta(step)
  algorithm = meta.get("algorithm")
  if algorithm not in ALGORITHMS:
    raise checkpoint.CheckpointError(
        f"checkpoint {directory}/{step} was written by unknown algorithm {algorithm!r}")
  module = importlib.import_module(ALGORITHMS[algorithm])
  return module.agent_from_checkpoint(meta, directory, step, num_simulations=num_simulations,
                                      seed_index=seed_index)


# ---------------------------------------------------------------------------
# --init_from: a run that starts from another checkpoint's network.

class InitFromError(checkpoint.CheckpointError, ValueError):
  """--init_from names no checkpoint, or one whose network does not fit:
  a bad flag value (ValueError) about a checkpoint (CheckpointError)."""


def init_from_meta(path: str, *, algorithms: tuple[str, ...], network_fields: dict,
                   flag: str = "init_from") -> tuple[str, int, dict]:
  """Checks before anything compiles that checkpoint `path` holds a network
  of one of `algorithms` whose stored config agrees with `network_fields`
  ({field name: this run's value}); returns (directory, step, meta).
  InitFromError (one sentence) otherwise."""
  try:
    directory, step = checkpoint.resolve(path)
    meta = checkpoint.Checkpointer(directory, read_only=True).meta(step)
  except checkpoint.CheckpointError as e:
    raise InitFromError(f"--{flag}={path}: {e}") from None
  algorithm = meta.get("algorithm")
  if algorithm not in algorithms:
    raise InitFromError(
        f"--{flag}={path} holds a {algorithm!r} checkpoint, whose network this run cannot "
        f"start from (it takes {' or '.join(algorithms)} checkpoints)")
  stored = meta.get("config", {})
  for name, value in network_fields.items():
    if name in stored and stored[name] != value:
      flag_name = "env" if name == "env_id" else name
      raise InitFromError(
          f"--{flag}={path} holds a network trained with --{flag_name}={stored[name]}, but "
          f"this run asks for --{flag_name}={value}; use the same network flags "
          f"({', '.join('--' + ('env' if n == 'env_id' else n) for n in network_fields)})")
  return directory, step, meta


def init_from_params(path: str, shapes, **kwargs):
  """The params of checkpoint `path` (checked by `init_from_meta`), restored
  on one local device with the shapes of `shapes`; a shape the meta check
  could not see (e.g. another version's network) is one sentence too."""
  directory, step, _ = init_from_meta(path, **kwargs)
  try:
    return checkpoint.restore_params_locally(directory, step, shapes)
  except checkpoint.CheckpointError as e:
    raise InitFromError(f"--{kwargs.get('flag', 'init_from')}={path}: its "
                                     f"network does not fit this run ({e})") from None
