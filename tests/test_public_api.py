"""The public API is exactly what the packages export."""

import zerogo
import envs


def test_public_api():
  from zerogo import Agent, CheckpointError, load_agent, search_agent  # noqa: F401
  assert set(zerogo.__all__) == {"Agent", "CheckpointError", "load_agent",
                                 "search_agent", "__version__"}
  for name in envs.__all__:
    assert hasattr(envs, name), name
  assert callable(zerogo.load_agent) and callable(envs.make)
