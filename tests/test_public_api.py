"""The public API is exactly what the packages export."""

import agents
import envs
import zerogo


def test_public_api():
  from zerogo import Agent, CheckpointError  # noqa: F401
  from agents import load_agent, policy_agent, search_agent  # noqa: F401
  assert set(zerogo.__all__) == {"Agent", "CheckpointError", "__version__"}
  assert set(agents.__all__) == {"load_agent", "policy_agent", "search_agent"}
  for name in envs.__all__:
    assert hasattr(envs, name), name
  assert callable(agents.load_agent) and callable(envs.make)


def test_layers_only_point_down():
  """zerogo/ and envs/ never import agents/ or launch/ (ARCHITECTURE)."""
  import os
  import re
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  pattern = re.compile(r"^\s*(from|import)\s+(agents|launch)\b", re.M)
  offenders = []
  for package in ("zerogo", "envs"):
    for name in os.listdir(os.path.join(root, package)):
      if name.endswith(".py"):
        path = os.path.join(root, package, name)
        if pattern.search(open(path).read()):
          offenders.append(f"{package}/{name}")
  assert not offenders, offenders
