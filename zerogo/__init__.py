"""zerogo: game-playing agents that learn by self-play, end to end in JAX."""

from zerogo.agent import Agent, load_agent, search_agent
from zerogo.checkpoint import CheckpointError

__version__ = "0.1.0"

__all__ = ["Agent", "CheckpointError", "load_agent", "search_agent", "__version__"]
