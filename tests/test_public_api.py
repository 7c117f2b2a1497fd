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


def test_launchers_refuse_a_bad_flag_before_loading_jax():
  """Flag definitions are plain Python (configs, RunOptions, torso names;
  `zerogo` imports lazily): every training launcher and bench.py define
  their flags and refuse an unknown one without importing JAX."""
  import subprocess
  import sys
  from conftest import ROOT
  probe = ("import runpy, sys\n"
           "sys.argv = [sys.argv[1], '--no_such_flag']\n"
           "try:\n"
           "  runpy.run_path(sys.argv[0], run_name='__main__')\n"
           "except SystemExit as e:\n"
           "  loaded = sorted(m for m in ('jax', 'flax', 'pgx', 'orbax') if m in sys.modules)\n"
           "  print(e.code, loaded)\n")
  for script in ("selfplay.py", "ppo.py", "muzero.py", "rlhf.py", "offline.py", "pretrain.py",
                 "bench.py"):
    proc = subprocess.run([sys.executable, "-c", probe, f"launch/{script}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "2 []", (script, proc.stdout, proc.stderr[-2000:])
    assert "no_such_flag" in proc.stderr and "Traceback" not in proc.stderr
