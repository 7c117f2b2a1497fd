"""zerogo: game-playing agents that learn by self-play, end to end in JAX.

The shared machinery every algorithm uses. Trained agents load with
`agents.load_agent(path)`; they are `zerogo.Agent`s.
"""

from zerogo.agent import Agent
from zerogo.checkpoint import CheckpointError

__version__ = "0.1.0"

__all__ = ["Agent", "CheckpointError", "__version__"]
