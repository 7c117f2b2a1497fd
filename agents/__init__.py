"""zerogo's algorithms and players.

  agents.load_agent(path)     any checkpoint -> a playable zerogo.Agent
  agents.search_agent(...)    an MCTS player over a policy-value network
  agents.policy_agent(...)    the greedy player of a policy network

Importing the package is cheap (no pgx, no device): launchers import
`agents.configs` before `jax.distributed.initialize()`; the names above load
on first use.
"""

_LAZY = {"load_agent": "agents.loading", "search_agent": "agents.players",
         "policy_agent": "agents.players"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
  if name in _LAZY:
    import importlib
    return getattr(importlib.import_module(_LAZY[name]), name)
  raise AttributeError(f"module 'agents' has no attribute {name!r}")
