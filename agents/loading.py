"""`load_agent`: checkpoint -> playable Agent, for every algorithm.

A checkpoint names the algorithm that wrote it; each algorithm module
provides `agent_from_checkpoint(meta, directory, step, *, num_simulations,
seed_index)`. Adding an algorithm is one line in `ALGORITHMS`.
"""

from __future__ import annotations

import importlib

from zerogo import checkpoint
from zerogo.agent import Agent

ALGORITHMS = {"alphazero": "agents.alphazero", "muzero": "agents.muzero", "ppo": "agents.ppo"}


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
