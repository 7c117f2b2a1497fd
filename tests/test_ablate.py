"""launch/ablate.py: a 2x2 grid x 2 seeds end to end (summary numbers
checked against every run's own metrics and checkpoints), resume, bad
input, and the Ray backend against a local Ray instance."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import jax
import numpy as np
import pytest

import agents
from conftest import run_launcher
from test_checkpoint import TINY_FLAGS
from launch import _ablation as ablation
from zerogo import arena, metrics


def _summary_rows(path):
  """{grid point: (mean, [lo, hi] or None, per-seed values)} from summary.md."""
  rows = {}
  for line in open(path):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 7 and "=" in cells[0]:
      ci = None if cells[3] == "n/a" else [float(x) for x in cells[3].strip("[]").split(",")]
      rows[cells[0]] = (float(cells[2]), ci, [float(x) for x in cells[4].split(",")])
  return rows


@pytest.mark.slow(seconds=50)
def test_ppo_grid_summary_matches_the_runs_and_resumes(tmp_path):
  out, root = tmp_path / "out", tmp_path / "runs"
  # Two grid points on two axes (the second with one value; the product of
  # two multi-valued axes is test_grid_is_the_product_of_its_axes).
  args = ["--flagfile=launch/configs/cartpole.flags", "--grid=learning_rate=2.5e-4,1e-3",
          "--grid=num_epochs=2", "--seeds=2", "--name=tiny", f"--out={out}",
          f"--workdir_root={root}", "--total_steps=2048", "--log_every=1", "--eval_every=0",
          "--score_episodes=4", "--noprogress"]
  proc = run_launcher("ablate.py", *args, timeout=900)
  assert "2 runs (2 grid points; 2 seeds each, side by side" in proc.stdout
  assert "launch/ppo.py" in proc.stdout

  rows = _summary_rows(out / "tiny" / "summary.md")
  assert set(rows) == {f"learning_rate={lr} num_epochs=2" for lr in ("2.5e-4", "1e-3")}
  for label, (mean, ci, per_seed) in rows.items():
    lr, epochs = (kv.split("=")[1] for kv in label.split())
    slug = f"learning_rate-{lr}_num_epochs-{epochs}"
    result = json.load(open(out / "tiny" / "runs" / f"{slug}.json"))
    workdir = root / "tiny" / slug
    # The run trained what the grid point says, with both seeds in one program.
    flags_txt = (workdir / "flags.txt").read_text()
    assert f"--learning_rate={float(lr)}" in flags_txt and f"--num_epochs={epochs}" in flags_txt
    assert "--num_seeds=2" in flags_txt and "--total_steps=2048" in flags_txt
    # Final values: re-score each seed's checkpoint independently.
    for i, seed in enumerate(result["seeds"]):
      agent = agents.load_agent(str(workdir), seed_index=i)
      again = np.mean(arena.episodes(agent, jax.random.PRNGKey(10_007 + seed), 4)[0])
      assert result["final"][i] == pytest.approx(float(again), rel=1e-6)
    # The summary's numbers are the mean and t-interval of those values.
    assert per_seed == pytest.approx(result["final"], rel=1e-2, abs=0.5)
    mean_, half = ablation.mean_ci(result["final"])
    assert mean == pytest.approx(mean_, rel=1e-2, abs=0.5)
    assert ci == pytest.approx([mean_ - half, mean_ + half], rel=1e-2, abs=0.5)
    # Curves are the runs' own per-seed training returns.
    logged = metrics.read_jsonl(str(workdir / "metrics.jsonl"))
    for i in range(2):
      expected = [[r["env_steps"], r[f"episode_return/seed_{i}"]] for r in logged
                  if f"episode_return/seed_{i}" in r]
      assert result["curves"][i] == expected and expected
  assert (out / "tiny" / "curves.png").stat().st_size > 10_000

  # Run again: nothing retrains. Drop one result: only that run is redone.
  mtimes = {p: p.stat().st_mtime for p in root.glob("tiny/*/metrics.jsonl")}
  (out / "tiny" / "runs" / "learning_rate-1e-3_num_epochs-2.json").unlink()
  proc = run_launcher("ablate.py", *args, timeout=600)
  assert "1 of 2 runs already done" in proc.stdout
  assert sum(p.stat().st_mtime != m for p, m in mtimes.items()) <= 1
  assert (out / "tiny" / "runs" / "learning_rate-1e-3_num_epochs-2.json").exists()


def test_grid_is_the_product_of_its_axes():
  axes = ablation.parse_grid(["learning_rate=2.5e-4,1e-3", "--num_epochs=1,2"])
  assert axes == [("learning_rate", ["2.5e-4", "1e-3"]), ("num_epochs", ["1", "2"])]
  units = ablation.plan("ppo", "launch/configs/cartpole.flags", axes, num_seeds=2,
                        base_seed=3, extra_args=["--total_steps=2048"], workdir_root="/runs")
  assert [u.point for u in units] == [
      (("learning_rate", lr), ("num_epochs", e)) for lr in ("2.5e-4", "1e-3") for e in "12"]
  assert [u.name for u in units] == ["learning_rate-2.5e-4_num_epochs-1",
                                     "learning_rate-2.5e-4_num_epochs-2",
                                     "learning_rate-1e-3_num_epochs-1",
                                     "learning_rate-1e-3_num_epochs-2"]
  for unit in units:   # PPO: both seeds side by side in one program
    assert unit.seeds == (3, 4) and unit.vmapped
    assert unit.workdir == os.path.join("/runs", unit.name)
    flags = unit.command[2:]
    assert flags.index("--total_steps=2048") < flags.index(f"--num_epochs={unit.point[1][1]}")
    assert {f"--learning_rate={unit.point[0][1]}", "--seed=3", "--num_seeds=2",
            f"--workdir={unit.workdir}"} <= set(flags)
  # AlphaZero: one process per seed.
  units = ablation.plan("selfplay", "launch/configs/tic_tac_toe.flags",
                        ablation.parse_grid(["search=gumbel,puct"]), num_seeds=2, base_seed=0,
                        extra_args=[], workdir_root="/r")
  assert [(u.name, u.seeds) for u in units] == [
      ("search-gumbel_seed0", (0,)), ("search-gumbel_seed1", (1,)),
      ("search-puct_seed0", (0,)), ("search-puct_seed1", (1,))]
  assert not any(u.vmapped or any(c.startswith("--num_seeds") for c in u.command)
                 for u in units)


@pytest.mark.parametrize("args,message", [
    (["--grid=num_simulations"], "is not of the form flag=value1,value2"),
    (["--grid=seed=1,2"], "cannot vary --seed"),
    (["--seeds=0"], "--seeds must be at least 1"),
    (["--score_games=5"], "--score_games must be even"),
    (["--grid=search=gumbel", "--search=puct"], "--search is set by the sweep"),
    (["--backend=slurm"], "backend"),
    (["--grid=num_simulations=2,2"], "lists 2 twice"),
    (["--score_opponent=uct:abc"], "uct needs a simulation count"),
    (["--grid=num_simulations=2,3", "--bogus_flag=1"], "Unknown command line flag 'bogus_flag'"),
    (["--grid=num_simulations=16,-3"], "--num_simulations must be at least 1"),
])
def test_bad_input_is_one_sentence(tmp_path, args, message):
  proc = run_launcher("ablate.py", "--flagfile=launch/configs/tic_tac_toe.flags", "--name=x",
                      f"--out={tmp_path}", f"--workdir_root={tmp_path}", *args, check=False,
                      timeout=120)
  assert proc.returncode != 0 and "Traceback" not in proc.stderr
  assert message in proc.stderr
  assert not list(tmp_path.glob("x/*/metrics.jsonl"))


def test_missing_flagfile_and_name(tmp_path):
  proc = run_launcher("ablate.py", "--flagfile=/nonexistent.flags", "--name=x",
                      f"--out={tmp_path}", check=False, timeout=120)
  assert proc.returncode == 2 and "does not exist" in proc.stderr
  proc = run_launcher("ablate.py", "--flagfile=launch/configs/tic_tac_toe.flags",
                      f"--out={tmp_path}", check=False, timeout=120)
  assert proc.returncode == 2 and "--name is required" in proc.stderr


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.slow(seconds=130)
def test_ray_backend_runs_alphazero_seeds_as_ray_tasks(tmp_path):
  ray_bin = os.path.join(os.path.dirname(sys.executable), "ray")
  port = _free_port()
  env = dict(os.environ, JAX_NUM_CPU_DEVICES="1", RAY_USAGE_STATS_ENABLED="0")
  # Ray's session files go to a directory of this test, not /tmp/ray (short:
  # Ray's socket paths must fit in 107 characters), removed at the end.
  ray_tmp = tempfile.mkdtemp(prefix="zerogo-ray-")
  subprocess.run([ray_bin, "start", "--head", f"--port={port}", "--num-cpus=2",
                  "--include-dashboard=false", "--disable-usage-stats",
                  f"--temp-dir={ray_tmp}"],
                 check=True, env=env, capture_output=True, timeout=180)
  try:
    flagfile = tmp_path / "tiny.flags"
    flagfile.write_text("\n".join(f for f in TINY_FLAGS
                                  if not f.startswith(("--seed", "--progress"))) + "\n")
    out = tmp_path / "out"
    proc = run_launcher(
        "ablate.py", f"--flagfile={flagfile}", "--grid=search=puct", "--seeds=2",
        "--base_seed=7", "--name=ray", f"--out={out}", f"--workdir_root={tmp_path / 'runs'}",
        "--num_iterations=2", "--backend=ray", f"--ray_address=127.0.0.1:{port}",
        "--ray_cpus_per_run=1", "--score_opponent=random", "--score_games=8",
        "--score_opening_moves=0", "--noprogress", timeout=1200)
    assert "2 runs (1 grid point x 2 seeds)" in proc.stdout
    assert "launch/selfplay.py" in proc.stdout
    results = [json.load(open(p)) for p in sorted((out / "ray" / "runs").glob("*.json"))]
    assert len(results) == 2
    assert all(r["backend"] == "ray" and r["ray_node"] for r in results)
    # Each AlphaZero seed is its own process and run, trained with its own seed.
    seeds = sorted((r["point"][0][1], r["seeds"][0]) for r in results)
    assert seeds == [("puct", 7), ("puct", 8)]
    for r in results:
      wd = tmp_path / "runs" / "ray" / r["unit"]
      assert f"--seed={r['seeds'][0]}" in (wd / "flags.txt").read_text()
      assert r["iterations"] == 2 and 0.0 <= r["final"][0] <= 1.0
    rows = _summary_rows(out / "ray" / "summary.md")
    for label, (mean, _, per_seed) in rows.items():
      finals = [r["final"][0] for r in results if f"search={r['point'][0][1]}" == label]
      assert mean == pytest.approx(np.mean(finals), abs=1e-3)
      assert sorted(per_seed) == pytest.approx(sorted(finals), abs=1e-3)
  finally:
    subprocess.run([ray_bin, "stop", "--force"], env=env, capture_output=True, timeout=120)
    shutil.rmtree(ray_tmp, ignore_errors=True)
