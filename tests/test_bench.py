"""launch/bench.py prints one well-formed JSON line per measurement."""

import json

from conftest import run_launcher


def test_selfplay_bench_prints_one_json_line():
  proc = run_launcher("bench.py", "selfplay", "--env=tic_tac_toe", "--selfplay_batch_size=8",
                      "--num_simulations=4", "--num_channels=8", "--num_blocks=1",
                      "--moves=2", "--repeats=1")
  lines = [l for l in proc.stdout.splitlines() if l.strip()]
  assert len(lines) == 1
  row = json.loads(lines[0])
  for key in ("positions_per_s", "simulations_per_s", "evaluations_per_s",
              "network_limit_ratio", "device_kind", "jax_version"):
    assert key in row
  assert row["positions_per_s"] > 0
  assert row["simulations_per_s"] == pytest_approx(row["positions_per_s"] * 4)
  assert 0 < row["network_limit_ratio"] < 10


def pytest_approx(x):
  import pytest
  return pytest.approx(x, rel=1e-3)


def test_unknown_subcommand_is_one_line():
  proc = run_launcher("bench.py", "selfply", check=False)
  assert proc.returncode != 0 and "usage: bench.py" in proc.stderr
  assert "Traceback" not in proc.stderr
