"""zerogo: game-playing agents that learn by self-play, end to end in JAX.

The shared machinery every algorithm uses. Trained agents load with
`agents.load_agent(path)`; they are `zerogo.Agent`s.

Importing the package is cheap (no JAX): a launcher that refuses a bad flag
answers before JAX loads; `Agent` and `CheckpointError` load on first use.
"""

__version__ = "0.1.0"

_LAZY = {"Agent": "zerogo.agent", "CheckpointError": "zerogo.checkpoint"}

__all__ = ["Agent", "CheckpointError", "__version__"]


def __getattr__(name: str):
  if name in _LAZY:
    import importlib
    return getattr(importlib.import_module(_LAZY[name]), name)
  raise AttributeError(f"module 'zerogo' has no attribute {name!r}")
