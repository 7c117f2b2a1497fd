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


def test_envs_bench_measures_every_env_it_is_given_against_the_library():
  proc = run_launcher("bench.py", "envs", "--envs=tic_tac_toe,CartPole-v1", "--num_envs=8",
                      "--num_steps=4", "--repeats=1")
  rows = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
  assert [(r["env"], r["reference"]) for r in rows] == [("tic_tac_toe", "pgx"),
                                                         ("CartPole-v1", "gymnax")]
  for r in rows:
    assert r["steps_per_s"] > 0 and r["raw_steps_per_s"] > 0 and "device_kind" in r
    assert r["repeats"] == 1  # one round: the paired ratio is the ratio of the two samples
    assert r["wrapper_overhead"] == pytest_approx(r["raw_steps_per_s"] / r["steps_per_s"] - 1,
                                                  rel=1e-2)
    assert r["with_stats_overhead"] == pytest_approx(
        r["raw_steps_per_s"] / r["with_stats_steps_per_s"] - 1, rel=1e-2)


def test_iteration_bench_times_the_real_data_parallel_iteration():
  proc = run_launcher("bench.py", "iteration", "--env=tic_tac_toe", "--selfplay_batch_size=8",
                      "--moves=3", "--num_simulations=4", "--num_channels=8", "--num_blocks=1",
                      "--train_batch_size=16", "--sgd_steps=2", "--repeats=1", devices=2)
  row = json.loads(proc.stdout.strip().splitlines()[-1])
  assert row["bench"] == "iteration" and row["num_devices"] == 2 and row["num_processes"] == 1
  assert row["positions_per_s"] == pytest_approx(row["iterations_per_s"] * 8 * 3, rel=1e-2)


def test_learner_bench_prints_sgd_and_forward_rates():
  proc = run_launcher("bench.py", "learner", "--env=tic_tac_toe", "--train_batch_size=8",
                      "--num_channels=8", "--num_blocks=1", "--sgd_steps=2", "--repeats=1",
                      devices=2)
  lines = [l for l in proc.stdout.splitlines() if l.strip()]
  assert len(lines) == 1
  row = json.loads(lines[0])
  assert row["bench"] == "learner" and row["num_devices"] == 2 and row["sgd_steps_per_s"] > 0
  assert row["samples_per_s"] == pytest_approx(row["sgd_steps_per_s"] * 8, rel=1e-2)
  assert row["train_to_forward_ratio"] == pytest_approx(
      row["samples_per_s"] / row["forward_samples_per_s"], rel=1e-2)


def test_bench_rejects_bad_input_in_one_sentence():
  proc = run_launcher("bench.py", "envs", "--envs=tic_tac_toe,chekers", check=False)
  assert proc.returncode == 2 and "unknown game 'chekers'" in proc.stderr
  proc = run_launcher("bench.py", "learner", "--train_batch_size=6", devices=4, check=False)
  assert proc.returncode == 2 and "divisible by the number of devices (4)" in proc.stderr
  assert "Traceback" not in proc.stderr
  for bench, flag in (("selfplay", "--selfplay_batch_size=0"), ("learner", "--train_batch_size=0"),
                      ("selfplay", "--num_simulations=-1"), ("ppo", "--num_envs=0"),
                      ("iteration", "--moves=0")):
    proc = run_launcher("bench.py", bench, flag, check=False)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and last.startswith(f"error: flag {flag}:"), proc.stderr[-2000:]


def pytest_approx(x, rel=1e-3):
  import pytest
  return pytest.approx(x, rel=rel)


def test_unknown_subcommand_is_one_line():
  proc = run_launcher("bench.py", "selfply", check=False)
  assert proc.returncode != 0 and "usage: bench.py" in proc.stderr
  assert "Traceback" not in proc.stderr


def test_muzero_bench_prints_one_json_line():
  proc = run_launcher("bench.py", "muzero", "--env=CartPole-v1", "--num_envs=8", "--moves=2",
                      "--num_simulations=4", "--hidden=8", "--num_blocks=1",
                      "--train_batch_size=16", "--sgd_steps=1", "--repeats=1")
  lines = [l for l in proc.stdout.splitlines() if l.strip()]
  assert len(lines) == 1
  row = json.loads(lines[0])
  assert row["bench"] == "muzero" and row["env_steps_per_s"] > 0
  assert row["simulations_per_s"] > 0 and 0 < row["network_limit_ratio"] < 10
